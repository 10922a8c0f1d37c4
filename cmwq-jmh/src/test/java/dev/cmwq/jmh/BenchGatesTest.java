package dev.cmwq.jmh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The deterministic gates of the benchmarks (docs/benchmarks.md §6.2 item 7), run with the
 * tests: they do not depend on timing, so they hold on a loaded 2-core CI machine. The timed
 * ratios are measured by the JMH benchmarks, not here.
 */
class BenchGatesTest {
  private static final com.sun.management.ThreadMXBean MX =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /** Bytes allocated so far by every kworker thread of the JVM. */
  private static long workerBytes() {
    long sum = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith("kworker/")) {
        long b = MX.getThreadAllocatedBytes(t.getId());
        if (b > 0) {
          sum += b;
        }
      }
    }
    return sum;
  }

  /**
   * Gate of benchmarks 1 and 2: queueing an embedded item allocates nothing, on the caller or on
   * the worker that runs it. Bursts of 10 000 preallocated items, as benchmark 1; the best of
   * several measured bursts after warm-up, so that JIT compilation (escape analysis) has
   * happened and a stray allocation elsewhere in the JVM cannot fail the gate.
   *
   * <p>The per-CPU path must be exactly allocation-free. On unbound and ordered workqueues more
   * threads are runnable than this machine has CPUs (unbound workers are not concurrency
   * managed), so some lock acquisitions find the holder descheduled, stop spinning and park —
   * and the JDK's lock allocates a queue node for each parked waiter (about 0.1–0.2 B per item
   * here). The engine allocates nothing itself on those paths either; the bound below is what
   * the JDK lock costs, and a regression that allocates per item (8 B or more) still fails it.
   */
  @Test
  void queueWorkOfAnEmbeddedItemAllocatesNothing() {
    assertAllocationPerItem("cmwq", 0.1);
    assertAllocationPerItem("cmwqUnbound", 1.0);
    assertAllocationPerItem("cmwqOrdered", 1.0);
  }

  private static void assertAllocationPerItem(String side, double atMost) {
    try (BurstPeers peer = BurstPeers.create(side, 10_000)) {
      for (int i = 0; i < 300; i++) {
        peer.runBurst();
      }
      double bestCaller = Double.MAX_VALUE;
      double bestWorkers = Double.MAX_VALUE;
      for (int round = 0; round < 20; round++) {
        // Reading the workers' counters allocates on this thread: outside the caller's window.
        long w0 = workerBytes();
        long c0 = MX.getCurrentThreadAllocatedBytes();
        peer.runBurst();
        long c1 = MX.getCurrentThreadAllocatedBytes();
        long w1 = workerBytes();
        bestCaller = Math.min(bestCaller, (c1 - c0) / 10_000.0);
        bestWorkers = Math.min(bestWorkers, (w1 - w0) / 10_000.0);
      }
      assertThat(bestCaller).as(side + ": bytes per queueWork on the caller").isLessThan(atMost);
      assertThat(bestWorkers).as(side + ": bytes per item on the workers").isLessThan(atMost);
      assertThat(peer.orderViolations.get()).as(side + ": order violations").isZero();
    }
  }

  /**
   * Gate of benchmarks 6 and 7: arming, re-arming ({@code modDelayedWork} of an armed item, as
   * {@link DelayedWorkRearm}) and cancelling an embedded {@code DelayedWork} allocates nothing,
   * with the delay given as a number and a unit (as {@link TimerScale1M} arms) or as a
   * {@link Duration} the caller keeps; the timer base's later pass over the armed timers
   * ({@link TimerPeers#settle}) allocates nothing either. Best of several rounds of 10 000 after
   * warm-up, as above.
   */
  @Test
  void armingAndCancellingAnEmbeddedDelayedWorkAllocatesNothing() {
    for (String side : List.of("cmwq", "cmwqDuration")) {
      int n = 10_000;
      long[] delays = new long[n];
      Duration[] durations = new Duration[n];
      for (int i = 0; i < n; i++) {
        delays[i] = TimeUnit.SECONDS.toNanos(1 + i % 60);
        durations[i] = Duration.ofNanos(delays[i]);
      }
      TimerPeers.Cmwq peer = (TimerPeers.Cmwq) TimerPeers.create(side, n, () -> { });
      try {
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 200; round++) {
          long b0 = MX.getCurrentThreadAllocatedBytes();
          peer.armAll(delays, durations);
          for (int i = 0; i < n; i++) {
            peer.rearm(i, durations[n - 1 - i]);
          }
          peer.cancelAll();
          peer.settle();
          long b1 = MX.getCurrentThreadAllocatedBytes();
          best = Math.min(best, (b1 - b0) / (double) n);
        }
        assertThat(best).as(side + ": bytes per arm + re-arm + cancel").isLessThan(0.1);
      } finally {
        peer.close();
      }
    }
  }

  /**
   * Gate of benchmark 5: the number of threads does not grow with the number of workqueues
   * (none is MEM_RECLAIM, so none has a rescuer). 100 and then 10 000 workqueues, a third each
   * per-CPU, unbound and ordered, each given one item — in waves of {@link #WAVE}, so that the
   * load (items in flight at once) is the same for both and only the number of queues differs.
   * A thread per queue would add 9 900 threads; the pools' own growth is a few.
   */
  @Test
  void threadCountIsIndependentOfTheNumberOfWorkqueues() throws InterruptedException {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).name("gates").jmx(false)
        .watchdogThreshold(Duration.ZERO).build()) {
      int base = MX.getThreadCount();
      int small = threadsAfter(sys, 100) - base;
      int large = threadsAfter(sys, 10_000) - base;
      assertThat(large).as("threads added for 10 000 workqueues vs %d for 100", small)
          .isLessThanOrEqualTo(small + 4);
      // Per-CPU normal and highpri pools of 2 CPUs and the shared unbound pool, each with its
      // running workers and one idle in reserve.
      assertThat(large).as("threads added for 10 000 workqueues").isLessThanOrEqualTo(24);
    }
  }

  /**
   * Gate of benchmark 5's heap target: an idle workqueue, its name included, costs at most
   * 400 B when unbound or ordered (the target) and 420 B when per-CPU (two pwqs). Batches of
   * 5 000 of one kind in a system of their own whose pools already exist, measured as
   * ThreadEconomy does (used heap after full collections), the better of two batches; the
   * noise of a collection is a few bytes per queue.
   */
  @Test
  void idleWorkqueueFootprint() {
    assertThat(idleBytesPerWorkqueue(0)).as("per-CPU workqueue, B").isLessThanOrEqualTo(420);
    assertThat(idleBytesPerWorkqueue(1)).as("unbound workqueue, B").isLessThanOrEqualTo(400);
    assertThat(idleBytesPerWorkqueue(2)).as("ordered workqueue, B").isLessThanOrEqualTo(400);
  }

  private static double idleBytesPerWorkqueue(int kind) {
    int n = 5_000;
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).name("footprint").jmx(false)
        .watchdogThreshold(Duration.ZERO).build()) {
      ThreadEconomy.newWorkqueue(sys, "warm", kind).destroy();
      List<Workqueue> wqs = new ArrayList<>(2 * n);
      double best = Double.MAX_VALUE;
      // Twice, keeping the first batch: the first also pays one-time costs (class
      // initialisation, JIT deoptimisation records) that are not per workqueue.
      for (int round = 0; round < 2; round++) {
        long heap0 = ThreadEconomy.usedHeap();
        for (int i = 0; i < n; i++) {
          wqs.add(ThreadEconomy.newWorkqueue(sys, "wq" + round + "-" + i, kind));
        }
        long heap1 = ThreadEconomy.usedHeap();
        best = Math.min(best, (double) (heap1 - heap0) / n);
      }
      assertThat(wqs).hasSize(2 * n); // keeps them reachable until measured
      return best;
    }
  }

  private static final int WAVE = 16;

  private static int threadsAfter(WorkqueueSystem sys, int count) throws InterruptedException {
    List<Workqueue> wqs = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      wqs.add(ThreadEconomy.newWorkqueue(sys, "g" + count + "-" + i, i % 3));
    }
    for (int from = 0; from < count; from += WAVE) {
      int to = Math.min(count, from + WAVE);
      CountDownLatch done = new CountDownLatch(to - from);
      for (Workqueue wq : wqs.subList(from, to)) {
        wq.queueWork(new Work(done::countDown));
      }
      assertThat(done.await(2, TimeUnit.MINUTES)).as("a wave of items ran").isTrue();
    }
    int threads = MX.getThreadCount();
    for (Workqueue wq : wqs) {
      wq.destroy();
    }
    return threads;
  }
}
