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
   */
  @Test
  void queueWorkOfAnEmbeddedItemAllocatesNothing() {
    for (String side : new String[] {"cmwq", "cmwqUnbound", "cmwqOrdered"}) {
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
        assertThat(bestCaller).as(side + ": bytes per queueWork on the caller").isLessThan(0.1);
        assertThat(bestWorkers).as(side + ": bytes per item on the workers").isLessThan(0.1);
        assertThat(peer.orderViolations.get()).as(side + ": order violations").isZero();
      }
    }
  }

  /**
   * Gate of benchmark 5: the number of threads does not grow with the number of workqueues
   * (none is MEM_RECLAIM, so none has a rescuer). 1 000 and then 10 000 workqueues, a third each
   * per-CPU, unbound and ordered, each given one item.
   */
  @Test
  void threadCountIsIndependentOfTheNumberOfWorkqueues() throws InterruptedException {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).name("gates").jmx(false)
        .watchdogThreshold(Duration.ZERO).build()) {
      int base = MX.getThreadCount();
      int after1k = threadsAfter(sys, 1_000) - base;
      int after10k = threadsAfter(sys, 9_000) - base;
      // Per-CPU normal + highpri pools (2 CPUs) and one unbound pool per pod: a handful of
      // workers each, however many workqueues share them.
      assertThat(after10k).as("threads added for 10 000 workqueues").isLessThanOrEqualTo(after1k + 2);
      assertThat(after10k).as("threads added for 10 000 workqueues").isLessThanOrEqualTo(2 * 2 * 2 + 8);
    }
  }

  private static int threadsAfter(WorkqueueSystem sys, int more) throws InterruptedException {
    List<Workqueue> wqs = new ArrayList<>(more);
    for (int i = 0; i < more; i++) {
      Workqueue.Builder b = sys.workqueue("g" + System.identityHashCode(wqs) + "-" + i);
      switch (i % 3) {
        case 1 -> b.unbound();
        case 2 -> b.ordered();
        default -> { }
      }
      wqs.add(b.build());
    }
    CountDownLatch done = new CountDownLatch(more);
    for (Workqueue wq : wqs) {
      wq.queueWork(new Work(done::countDown));
    }
    assertThat(done.await(2, TimeUnit.MINUTES)).as("all items ran").isTrue();
    return MX.getThreadCount();
  }
}
