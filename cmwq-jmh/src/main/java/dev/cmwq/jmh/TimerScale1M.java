package dev.cmwq.jmh;

import java.time.Duration;
import java.util.SplittableRandom;
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
 * Benchmark 7 of docs/benchmarks.md, {@code TimerScale1M}: arm 1 000 000 timers with random
 * 1–60 s delays, then cancel them all; cmwq, ScheduledThreadPoolExecutor (removeOnCancel) and
 * Netty's HashedWheelTimer in one invocation, rotating order, each side's time recorded.
 * Heap per pending timer and firing lateness are measured by {@link TimerFootprint}.
 *
 * <p>Every side reads its delays from the same {@code long[]} of nanoseconds and passes each as
 * a number and a unit (cmwq's {@code queueDelayedWork(dwork, delay, unit)}). The Duration form,
 * one object per timer kept by the caller, is side {@code cmwqDuration} of {@link TimerProbe}.
 *
 * <p>cmwq and Netty leave part of the work to their timer thread (cmwq places armed timers
 * within 100 ms, Netty transfers and cancels once a tick). After each side's round that work
 * is finished before the next side starts ({@link TimerPeers#settle()}), so it cannot slow the
 * next side down, and its time is reported too: {@code *SettledNanos} is the round's time
 * including the settle.
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PairedMain TimerScale1M
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 6)
@Fork(value = 3, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+UseParallelGC"})
public class TimerScale1M {
  static final int N = 1_000_000;
  static final Runnable NOOP = () -> { };

  long[] delays;
  Duration[] durations;
  TimerPeers cmwq;
  TimerPeers stpe;
  TimerPeers netty;
  int round;

  /**
   * Per-side time in ns, read by PairedMain: {@code <side>Nanos} is the caller's time to arm
   * and cancel; {@code <side>SettledNanos} adds the work the side left to its own thread,
   * finished by {@link TimerPeers#settle()} after the round (see the class comment).
   */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Sides {
    public long cmwqNanos;
    public long stpeNanos;
    public long nettyNanos;
    public long cmwqSettledNanos;
    public long stpeSettledNanos;
    public long nettySettledNanos;
  }

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom rnd = new SplittableRandom(7);
    delays = new long[N];
    durations = new Duration[N];
    for (int i = 0; i < N; i++) {
      delays[i] = TimeUnit.MILLISECONDS.toNanos(1000 + rnd.nextInt(59_000));
      durations[i] = Duration.ofNanos(delays[i]);
    }
    cmwq = TimerPeers.create("cmwq", N, NOOP);
    stpe = TimerPeers.create("stpe", N, NOOP);
    netty = TimerPeers.create("netty", N, NOOP);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    cmwq.close();
    stpe.close();
    netty.close();
  }

  @Benchmark
  public void paired(Sides s) {
    int r = round++ % 3;
    for (int k = 0; k < 3; k++) {
      int which = (r + k) % 3;
      long t0 = System.nanoTime();
      TimerPeers p = which == 0 ? cmwq : which == 1 ? stpe : netty;
      p.armAll(delays, durations);
      p.cancelAll();
      long t1 = System.nanoTime();
      p.settle();
      long t2 = System.nanoTime();
      if (which == 0) {
        s.cmwqNanos += t1 - t0;
        s.cmwqSettledNanos += t2 - t0;
      } else if (which == 1) {
        s.stpeNanos += t1 - t0;
        s.stpeSettledNanos += t2 - t0;
      } else {
        s.nettyNanos += t1 - t0;
        s.nettySettledNanos += t2 - t0;
      }
    }
  }
}
