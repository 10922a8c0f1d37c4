package dev.cmwq.jmh;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import dev.cmwq.Workqueues;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 4 of docs/benchmarks.md, {@code ConcurrencyManagement}: the scenario of the kernel's
 * workqueue.rst. w0 burns 5 ms of CPU, sleeps 10 ms, burns 5 ms; w1 and w2 each burn 5 ms and
 * sleep 10 ms; all three are queued at once on CPU 0's pool. A single-threaded executor needs
 * 50 ms; cmwq runs the next item whenever the running one sleeps, so the doc's schedule ends at
 * 25 ms with at most three workers.
 *
 * <p>Sides: {@code cmwqHook} sleeps through {@link Workqueues#managedBlock} (concurrency
 * management sees the sleep at once); {@code cmwqSleep} uses a plain {@code Thread.sleep}, which
 * only the sampling tick notices; peers ThreadPoolExecutor(1), ThreadPoolExecutor(2) and a
 * ForkJoinPool(1) without a ManagedBlocker. One shot runs every side once in rotating order;
 * PairedMain reports the per-shot ratios. {@code cmwqPeakWorkers} counts CPU 0's normal-priority
 * kworkers alive after the shot (idle workers live far longer than a run, so this is the peak).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 20)
@Fork(value = 5, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
public class ConcurrencyManagement {
  static final long BURN = TimeUnit.MILLISECONDS.toNanos(5);
  static final long SLEEP = TimeUnit.MILLISECONDS.toNanos(10);

  WorkqueueSystem sys;
  Workqueue wq;
  ExecutorService tpe1;
  ExecutorService tpe2;
  ForkJoinPool fjp1;
  int round;

  /** Per-side time, read by PairedMain. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Sides {
    public long cmwqHookNanos;
    public long cmwqSleepNanos;
    public long tpe1Nanos;
    public long tpe2Nanos;
    public long fjp1Nanos;
    public long cmwqPeakWorkers;
  }

  @Setup(Level.Trial)
  public void setUp() {
    sys = WorkqueueSystem.builder().name("bench-cm").jmx(false).build();
    wq = sys.workqueue("rst").maxActive(16).build();
    tpe1 = Executors.newFixedThreadPool(1);
    tpe2 = Executors.newFixedThreadPool(2);
    fjp1 = new ForkJoinPool(1);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    sys.close();
    tpe1.shutdownNow();
    tpe2.shutdownNow();
    fjp1.shutdownNow();
  }

  static void burn() {
    long end = System.nanoTime() + BURN;
    while (System.nanoTime() < end) {
      Thread.onSpinWait();
    }
  }

  static void sleep(boolean hook) {
    long until = System.nanoTime() + SLEEP;
    try {
      if (hook) {
        Workqueues.managedBlock(new ForkJoinPool.ManagedBlocker() {
          @Override
          public boolean block() throws InterruptedException {
            long left = until - System.nanoTime();
            if (left > 0) {
              TimeUnit.NANOSECONDS.sleep(left);
            }
            return true;
          }

          @Override
          public boolean isReleasable() {
            return System.nanoTime() >= until;
          }
        });
      } else {
        for (long left; (left = until - System.nanoTime()) > 0; ) {
          TimeUnit.NANOSECONDS.sleep(left);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The three items of the scenario, counting down {@code done}. */
  static Runnable[] scenario(boolean hook, CountDownLatch done) {
    return new Runnable[] {
      () -> {
        burn();
        sleep(hook);
        burn();
        done.countDown();
      },
      () -> {
        burn();
        sleep(hook);
        done.countDown();
      },
      () -> {
        burn();
        sleep(hook);
        done.countDown();
      },
    };
  }

  private long cmwqShot(boolean hook) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(3);
    Runnable[] items = scenario(hook, done);
    Work[] works = {new Work(items[0]), new Work(items[1]), new Work(items[2])};
    long t0 = System.nanoTime();
    for (Work w : works) {
      wq.queueWorkOn(0, w);
    }
    done.await();
    return System.nanoTime() - t0;
  }

  private static long executorShot(java.util.concurrent.Executor ex) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(3);
    Runnable[] items = scenario(false, done);
    long t0 = System.nanoTime();
    for (Runnable r : items) {
      ex.execute(r);
    }
    done.await();
    return System.nanoTime() - t0;
  }

  /** CPU 0's normal-priority kworkers alive now ({@code kworker/0:N}, not {@code kworker/0:NH}). */
  static long cpu0Workers() {
    return Thread.getAllStackTraces().keySet().stream()
        .map(Thread::getName)
        .filter(n -> n.matches("kworker/0:\\d+([^H\\d].*)?"))
        .count();
  }

  /** Every side once, order rotated each shot. */
  @Benchmark
  public void paired(Sides s) throws InterruptedException {
    int r = round++;
    for (int k = 0; k < 5; k++) {
      switch ((r + k) % 5) {
        case 0 -> s.cmwqHookNanos += cmwqShot(true);
        case 1 -> s.cmwqSleepNanos += cmwqShot(false);
        case 2 -> s.tpe1Nanos += executorShot(tpe1);
        case 3 -> s.tpe2Nanos += executorShot(tpe2);
        default -> s.fjp1Nanos += executorShot(fjp1);
      }
    }
    s.cmwqPeakWorkers = Math.max(s.cmwqPeakWorkers, cpu0Workers());
  }
}
