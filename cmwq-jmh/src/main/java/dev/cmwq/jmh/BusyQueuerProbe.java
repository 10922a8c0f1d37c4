package dev.cmwq.jmh;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import java.time.Duration;
import java.util.Arrays;

/**
 * The case the idle poll must not slow down (docs/benchmarks.md, benchmark 1): a thread that
 * keeps computing queues one item on the per-CPU system workqueue every {@code GAP} ns for 2 s,
 * and the item records how long after its queueing it started. With a poll that left its worker
 * runnable, the items waited for the computing thread's time slice and coalesced (fewer runs);
 * printed per idle-poll setting: runs, queue-to-start p50 / p90 / p99 / max in ns, and how far
 * the queuer's own loop got (the CPU a poll took from it). Needs the
 * native module on the class path (it is in the benchmarks jar) for workers to be pinned to
 * their CPU, which is what puts the queuer and the worker on one CPU.
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.BusyQueuerProbe 20000 0,20000,0,20000
 * </pre>
 */
public final class BusyQueuerProbe {
  private BusyQueuerProbe() {}

  /** Written by the queuer before each queueing, read by the item. */
  private static volatile long queuedAt;

  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: BusyQueuerProbe GAP_NANOS IDLE_SPIN_NANOS[,IDLE_SPIN_NANOS...]");
      System.exit(2);
    }
    long gap = Long.parseLong(args[0]);
    for (String spin : args[1].split(",")) {
      long[] latency = new long[20_000];
      int[] runs = new int[1];
      try (WorkqueueSystem sys = WorkqueueSystem.builder()
          .idleSpin(Duration.ofNanos(Long.parseLong(spin))).build()) {
        Work w = new Work(() -> {
          int k = runs[0]++;
          if (k < latency.length) {
            latency[k] = System.nanoTime() - queuedAt;
          }
        });
        Workqueue wq = sys.system();
        long end = System.nanoTime() + 2_000_000_000L;
        long spins = 0;
        while (System.nanoTime() < end) {
          queuedAt = System.nanoTime();
          wq.queueWork(w);
          long until = System.nanoTime() + gap;
          while (System.nanoTime() < until) {
            spins++; // keeps this thread's CPU busy between items
          }
        }
        w.cancelSync(); // also orders the item's writes before the reads below
        int n = Math.min(runs[0], latency.length);
        long[] t = Arrays.copyOf(latency, n);
        Arrays.sort(t);
        System.out.printf("idleSpin %6s ns, gap %d ns: runs %d; of the first %d, queue-to-start"
            + " p50 %d p90 %d p99 %d max %d ns; queuer's spins %d%n", spin, gap, runs[0], n,
            t[n / 2], t[n * 9 / 10], t[n * 99 / 100], t[n - 1], spins);
      }
    }
  }
}
