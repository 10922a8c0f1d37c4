package dev.cmwq.jmh;

import com.google.common.util.concurrent.MoreExecutors;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;

/**
 * Benchmark 5 of docs/benchmarks.md, {@code ThreadEconomy}: create N workqueues (a third per-CPU,
 * a third unbound, a third ordered), queue one item on each, wait for all, then let them idle.
 * Reports live and peak threads, heap per idle workqueue (used heap after full GCs, before and
 * after creating them) and creation time; peers are one single-thread executor per queue and one
 * Guava sequential executor per queue over a shared ForkJoinPool(2). Deterministic numbers, so a
 * plain program rather than JMH; each side runs in turn in this JVM.
 *
 * <pre>
 * java -Xms1g -Xmx1g -XX:+UseParallelGC -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.ThreadEconomy [N...] [--out FILE]
 * </pre>
 */
public final class ThreadEconomy {
  private ThreadEconomy() {}

  /** What one side cost for N queues. */
  record Result(String side, int n, int liveThreads, int peakThreads, double heapPerQueue,
      double nsPerCreate) {}

  /** Entry point: N values (default 1 000 and 10 000); per-queue executors only up to 1 000. */
  public static void main(String[] args) throws Exception {
    List<Integer> ns = new ArrayList<>();
    java.nio.file.Path out = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--out")) {
        out = java.nio.file.Path.of(args[++i]);
      } else {
        ns.add(Integer.parseInt(args[i]));
      }
    }
    if (ns.isEmpty()) {
      ns.add(1_000);
      ns.add(10_000);
    }
    // A throwaway pass first: class loading, JIT and the first pools would otherwise land in
    // (or be freed during) the first measurement.
    cmwq(500);
    guavaSeq(500);
    List<Result> results = new ArrayList<>();
    for (int n : ns) {
      results.add(cmwq(n));
      results.add(guavaSeq(n));
      if (n <= 1_000) {
        results.add(singleThreadExecutors(n));
      }
    }
    StringBuilder md = new StringBuilder("\n### ThreadEconomy (benchmark 5)\n\n");
    md.append("| side | workqueues | threads added (live after) | peak threads added | heap B per idle queue | ns per create |\n");
    md.append("|---|---|---|---|---|---|\n");
    for (Result r : results) {
      md.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.0f | %.0f |%n", r.side, r.n,
          r.liveThreads, r.peakThreads, r.heapPerQueue, r.nsPerCreate));
    }
    md.append("\nTargets: cmwq threads independent of the number of workqueues and ≤ 2 × CPUs × 2 pools"
        + " + rescuers; ≤ 400 B per idle workqueue; ≤ 2 µs per create. ")
        .append(PairedMain.machine()).append('\n');
    System.out.println(md);
    if (out != null) {
      PairedMain.append(out, md);
    }
  }

  /**
   * Used heap after full collections, settled. Runtime's view rather than the MemoryMXBean's
   * that TimerFootprint reads: the two agree for cmwq and Guava here but not for a thousand
   * freshly started executor threads (1 322 vs ~630 B each), and the recorded results use this.
   */
  static long usedHeap() {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      Runtime rt = Runtime.getRuntime();
      used = Math.min(used, rt.totalMemory() - rt.freeMemory());
    }
    return used;
  }

  /** A workqueue of the benchmark's mix: kind 0 per-CPU, 1 unbound, 2 ordered. */
  static Workqueue newWorkqueue(WorkqueueSystem sys, String name, int kind) {
    Workqueue.Builder b = sys.workqueue(name);
    switch (kind) {
      case 1 -> b.unbound();
      case 2 -> b.ordered();
      default -> { }
    }
    return b.build();
  }

  static Result cmwq(int n) throws InterruptedException {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    try (WorkqueueSystem sys = WorkqueueSystem.builder().name("economy").jmx(false)
        .watchdogThreshold(Duration.ZERO).build()) {
      // Warm the shared structures (pools, the first unbound pool, class loading) first.
      sys.workqueue("warm").unbound().build().destroy();
      int threads0 = mx.getThreadCount();
      mx.resetPeakThreadCount();
      long heap0 = usedHeap();
      List<Workqueue> wqs = new ArrayList<>(n);
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        wqs.add(newWorkqueue(sys, "wq" + i, i % 3));
      }
      long createNs = System.nanoTime() - t0;
      long heap1 = usedHeap();
      CountDownLatch done = new CountDownLatch(n);
      List<Work> items = new ArrayList<>(n);
      for (Workqueue wq : wqs) {
        Work w = new Work(done::countDown);
        items.add(w);
        wq.queueWork(w);
      }
      done.await();
      int live = mx.getThreadCount() - threads0;
      int peak = mx.getPeakThreadCount() - threads0;
      Result r = new Result("cmwq (⅓ per-CPU, ⅓ unbound, ⅓ ordered)", n, live, peak,
          (double) (heap1 - heap0) / n, (double) createNs / n);
      for (Workqueue wq : wqs) {
        wq.destroy();
      }
      return r;
    }
  }

  static Result guavaSeq(int n) throws InterruptedException {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    ForkJoinPool fjp = new ForkJoinPool(2);
    try {
      fjp.submit(() -> { }).join();
      int threads0 = mx.getThreadCount();
      mx.resetPeakThreadCount();
      long heap0 = usedHeap();
      List<Executor> seqs = new ArrayList<>(n);
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        seqs.add(MoreExecutors.newSequentialExecutor(fjp));
      }
      long createNs = System.nanoTime() - t0;
      long heap1 = usedHeap();
      CountDownLatch done = new CountDownLatch(n);
      for (Executor e : seqs) {
        e.execute(done::countDown);
      }
      done.await();
      return new Result("Guava sequential executor per queue (one ForkJoinPool(2))", n,
          mx.getThreadCount() - threads0, mx.getPeakThreadCount() - threads0,
          (double) (heap1 - heap0) / n, (double) createNs / n);
    } finally {
      fjp.shutdownNow();
    }
  }

  static Result singleThreadExecutors(int n) throws InterruptedException {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    int threads0 = mx.getThreadCount();
    mx.resetPeakThreadCount();
    long heap0 = usedHeap();
    List<ExecutorService> exs = new ArrayList<>(n);
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      exs.add(Executors.newSingleThreadExecutor());
    }
    long createNs = System.nanoTime() - t0;
    CountDownLatch done = new CountDownLatch(n);
    for (ExecutorService e : exs) {
      e.execute(done::countDown);
    }
    done.await();
    // Threads exist only once a task ran: measure the heap with them started.
    long heap1 = usedHeap();
    Result r = new Result("newSingleThreadExecutor per queue", n, mx.getThreadCount() - threads0,
        mx.getPeakThreadCount() - threads0, (double) (heap1 - heap0) / n, (double) createNs / n);
    for (ExecutorService e : exs) {
      e.shutdownNow();
    }
    return r;
  }
}
