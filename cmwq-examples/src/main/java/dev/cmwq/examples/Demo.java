package dev.cmwq.examples;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueAttrs;
import dev.cmwq.WorkqueueStats;
import dev.cmwq.WorkqueueSystem;
import dev.cmwq.Workqueues;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A small service-shaped workload on cmwq: per-connection ordered workqueues, request handlers
 * that block on I/O-like waits, a coalescing "config changed" item, a CPU hog, and an
 * attribute change under load. Prints a per-second table and a closing check that nothing was
 * lost or run twice.
 *
 * <p>Usage: {@code ./cmwq demo [--seconds N]} (default 5).
 */
public final class Demo {
  private static final int CONNECTIONS = 64;

  private Demo() {}

  /** Entry point. */
  public static void main(String[] args) throws Exception {
    int seconds = 5;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--seconds") && i + 1 < args.length) {
        seconds = Integer.parseInt(args[++i]);
      } else if (args[i].equals("-h") || args[i].equals("--help")) {
        System.out.println("usage: cmwq demo [--seconds N]");
        return;
      } else {
        System.err.println("cmwq demo: unknown argument " + args[i] + " (try --help)");
        System.exit(2);
      }
    }
    if (seconds < 1) {
      System.err.println("cmwq demo: --seconds " + seconds + " (expected: >= 1)");
      System.exit(2);
    }
    new Demo().run(seconds);
  }

  private final LongAdder queued = new LongAdder();
  private final LongAdder executed = new LongAdder();
  private final AtomicLong orderViolations = new AtomicLong();
  private final AtomicLong configApplied = new AtomicLong();
  private final AtomicLong configRequests = new AtomicLong();

  private void run(int seconds) throws Exception {
    int cpus = Runtime.getRuntime().availableProcessors();
    long threadsBefore = Thread.activeCount();
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(cpus).build()) {
      Workqueue io = sys.workqueue("demo_io").build();
      Workqueue crunch = sys.workqueue("demo_crunch").unbound().maxActive(cpus).build();
      List<Workqueue> conns = new ArrayList<>();
      List<long[]> nextSeq = new ArrayList<>();
      for (int c = 0; c < CONNECTIONS; c++) {
        conns.add(sys.workqueue("demo_conn" + c).ordered().build());
        nextSeq.add(new long[2]); // [next to queue, next expected to run]
      }
      Work config = new Work(() -> {
        configApplied.incrementAndGet();
        sleepManaged(5);
      });

      System.out.printf(Locale.ROOT, "cmwq demo: %d CPUs, %d connection queues, %d s%n",
          cpus, CONNECTIONS, seconds);
      System.out.printf(Locale.ROOT, "%4s %10s %10s %8s %8s %9s %8s%n",
          "sec", "queued", "executed", "threads", "cmwake", "cpuhog", "config");

      long end = System.nanoTime() + seconds * 1_000_000_000L;
      long nextReport = System.nanoTime() + 1_000_000_000L;
      int sec = 0;
      boolean reaffined = false;
      ThreadLocalRandom rnd = ThreadLocalRandom.current();
      while (System.nanoTime() < end) {
        // A request on a random connection: its handler runs in order on that connection.
        int c = rnd.nextInt(CONNECTIONS);
        long[] seq = nextSeq.get(c);
        long mySeq;
        synchronized (seq) {
          mySeq = seq[0]++;
          queue(conns.get(c), new Work(() -> {
            synchronized (seq) {
              if (seq[1]++ != mySeq) {
                orderViolations.incrementAndGet();
              }
            }
            executed.increment();
          }));
        }
        // Every few requests some blocking I/O on the per-CPU queue.
        if (rnd.nextInt(64) == 0) {
          queue(io, new Work(() -> {
            sleepManaged(1 + ThreadLocalRandom.current().nextInt(3));
            executed.increment();
          }));
        }
        // Rarely, a CPU-heavy job on the unbound queue.
        if (rnd.nextInt(500) == 0) {
          queue(crunch, new Work(() -> {
            burn(20);
            executed.increment();
          }));
        }
        // Config changes arrive in bursts; they coalesce into few runs.
        if (rnd.nextInt(50) == 0) {
          configRequests.incrementAndGet();
          crunch.queueWork(config);
        }
        if (!reaffined && System.nanoTime() > end - seconds * 500_000_000L) {
          crunch.applyAttrs(WorkqueueAttrs.defaults().withNice(5));
          reaffined = true;
        }
        if (rnd.nextInt(64) == 0) {
          Thread.sleep(0, 200_000);
        }
        if (System.nanoTime() >= nextReport) {
          nextReport += 1_000_000_000L;
          report(++sec, sys);
        }
      }
      for (Workqueue wq : conns) {
        wq.flush();
      }
      io.flush();
      crunch.flush();
      config.flush();
      report(++sec, sys);
      long peakThreads = Thread.activeCount() - threadsBefore;
      System.out.println();
      System.out.printf(Locale.ROOT, "items queued %d, executed %d, order violations %d%n",
          queued.sum(), executed.sum(), orderViolations.get());
      System.out.printf(Locale.ROOT, "config requests %d coalesced into %d runs%n",
          configRequests.get(), configApplied.get());
      System.out.printf(Locale.ROOT, "threads used by cmwq now: %d (one executor per queue"
          + " would use %d)%n", peakThreads, CONNECTIONS + 2);
      boolean ok = queued.sum() == executed.sum() && orderViolations.get() == 0;
      System.out.println(ok ? "check: nothing lost, nothing run twice, order kept"
          : "check FAILED: queued and executed differ or order broken");
      if (!ok) {
        System.exit(1);
      }
    }
  }

  private void queue(Workqueue wq, Work w) {
    if (wq.queueWork(w)) {
      queued.increment();
    }
  }

  private void report(int sec, WorkqueueSystem sys) {
    long cmw = 0;
    long hog = 0;
    for (Workqueue wq : sys.workqueues()) {
      WorkqueueStats s = wq.stats();
      cmw += s.cmWakeups();
      hog += s.cpuIntensive();
    }
    long threads = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("kworker/")).count();
    System.out.printf(Locale.ROOT, "%4d %10d %10d %8d %8d %9d %8d%n",
        sec, queued.sum(), executed.sum(), threads, cmw, hog, configApplied.get());
  }

  /** Sleeps through the concurrency-management hook, as a blocking I/O call would. */
  private static void sleepManaged(long millis) {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    try {
      Workqueues.managedBlock(new ForkJoinPool.ManagedBlocker() {
        @Override
        public boolean block() throws InterruptedException {
          long left = deadline - System.nanoTime();
          if (left > 0) {
            Thread.sleep(left / 1_000_000L, (int) (left % 1_000_000L));
          }
          return true;
        }

        @Override
        public boolean isReleasable() {
          return System.nanoTime() >= deadline;
        }
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void burn(long millis) {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    long x = 0;
    while (System.nanoTime() < deadline) {
      x += x * 31 + 7;
    }
    if (x == 42) {
      System.out.print("");
    }
  }
}
