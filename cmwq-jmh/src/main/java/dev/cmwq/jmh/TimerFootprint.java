package dev.cmwq.jmh;

import dev.cmwq.BenchAccess;
import dev.cmwq.DelayedWork;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import io.netty.util.HashedWheelTimer;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark 7's deterministic side: heap per pending timer beyond the caller's own objects
 * (1 000 000 armed timers, heap measured after full GCs), and the firing lateness of 100 000
 * timers due within one second (p50/p99/max). cmwq's lateness includes handing the item to a
 * worker: it is what a delayed-work user observes. A last row gives cmwq's lateness for 100 000
 * timers of 1–2 s armed in one burst, which the timer base defers (no clock read per arming;
 * see {@code TimerBase.addAfter}), with the number of deferred armings.
 *
 * <pre>
 * java -Xms2g -Xmx2g -XX:+UseParallelGC -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.TimerFootprint
 * </pre>
 */
public final class TimerFootprint {
  private TimerFootprint() {}

  private static final MemoryMXBean MEM = ManagementFactory.getMemoryMXBean();
  private static final String[] PEERS = {"cmwq", "stpe", "netty"};

  static long usedAfterGc() {
    long best = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      best = Math.min(best, MEM.getHeapMemoryUsage().getUsed());
    }
    return best;
  }

  /** Bytes of heap per armed timer beyond the caller's items (created before the baseline). */
  static double footprint(String name, int n) {
    TimerPeers peer = TimerPeers.create(name, n, () -> { });
    SplittableRandom rnd = new SplittableRandom(11);
    long[] delays = new long[n];
    for (int i = 0; i < n; i++) {
      delays[i] = TimeUnit.SECONDS.toNanos(600) + rnd.nextInt(1_000_000);
    }
    long before = usedAfterGc();
    for (int i = 0; i < n; i++) {
      peer.arm(i, delays[i]);
    }
    long after = usedAfterGc();
    for (int i = 0; i < n; i++) {
      peer.cancel(i);
    }
    peer.close();
    return (after - before) / (double) n;
  }

  /** Deferred armings in the last cmwq lateness run. */
  static long lastDeferred;

  /** Lateness (ns) of {@code n} timers with random delays of 10–1000 ms, sorted. */
  static long[] lateness(String name, int n) throws InterruptedException {
    return lateness(name, n, TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.MILLISECONDS.toNanos(990));
  }

  /** Lateness (ns) of {@code n} timers with random delays of {@code min} to {@code min + span}. */
  static long[] lateness(String name, int n, long min, long span) throws InterruptedException {
    long[] late = new long[n];
    long[] due = new long[n];
    CountDownLatch fired = new CountDownLatch(n);
    Runnable[] tasks = new Runnable[n];
    for (int i = 0; i < n; i++) {
      int id = i;
      tasks[i] = () -> {
        late[id] = System.nanoTime() - due[id];
        fired.countDown();
      };
    }
    SplittableRandom rnd = new SplittableRandom(13);
    long[] delays = new long[n];
    for (int i = 0; i < n; i++) {
      delays[i] = min + rnd.nextLong(span);
    }
    AutoCloseable closer;
    switch (name) {
      case "cmwq": {
        WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).build();
        Workqueue wq = sys.systemUnbound();
        DelayedWork[] items = new DelayedWork[n];
        for (int i = 0; i < n; i++) {
          items[i] = new DelayedWork(tasks[i]);
        }
        for (int i = 0; i < n; i++) {
          due[i] = System.nanoTime() + delays[i];
          wq.queueDelayedWork(items[i], delays[i], TimeUnit.NANOSECONDS);
        }
        closer = () -> {
          lastDeferred = BenchAccess.deferredTimers(sys);
          sys.close();
        };
        break;
      }
      case "stpe": {
        ScheduledThreadPoolExecutor stpe = new ScheduledThreadPoolExecutor(1);
        for (int i = 0; i < n; i++) {
          due[i] = System.nanoTime() + delays[i];
          stpe.schedule(tasks[i], delays[i], TimeUnit.NANOSECONDS);
        }
        closer = stpe::shutdownNow;
        break;
      }
      default: {
        HashedWheelTimer wheel = new HashedWheelTimer(10, TimeUnit.MILLISECONDS, 512);
        for (int i = 0; i < n; i++) {
          Runnable t = tasks[i];
          due[i] = System.nanoTime() + delays[i];
          wheel.newTimeout(x -> t.run(), delays[i], TimeUnit.NANOSECONDS);
        }
        closer = wheel::stop;
      }
    }
    if (!fired.await(60, TimeUnit.SECONDS)) {
      throw new AssertionError(name + ": timers did not all fire");
    }
    try {
      closer.close();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    Arrays.sort(late);
    return late;
  }

  /** Entry point. */
  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    StringBuilder md = new StringBuilder("| implementation | heap per pending timer (B) "
        + "| lateness p50 (µs) | p99 (µs) | max (µs) |\n|---|---|---|---|---|\n");
    for (String name : PEERS) {
      double perTimer = footprint(name, n);
      lateness(name, n / 10); // warm-up: JIT-compile the paths before measuring
      long[] late = lateness(name, n / 10);
      md.append(String.format(Locale.ROOT, "| %s | %.1f | %d | %d | %d |%n", name, perTimer,
          late[late.length / 2] / 1000, late[late.length * 99 / 100] / 1000,
          late[late.length - 1] / 1000));
    }
    long second = TimeUnit.SECONDS.toNanos(1);
    lateness("cmwq", n / 10, second, second);
    long[] late = lateness("cmwq", n / 10, second, second);
    md.append(String.format(Locale.ROOT, "| cmwq, 1–2 s armed in a burst (%d of %d deferred) | | %d | %d | %d |%n",
        lastDeferred, n / 10, late[late.length / 2] / 1000, late[late.length * 99 / 100] / 1000,
        late[late.length - 1] / 1000));
    md.append("\nJDK ").append(System.getProperty("java.version")).append(", ")
        .append(PairedMain.cpuModel()).append('\n');
    System.out.println(md);
  }
}
