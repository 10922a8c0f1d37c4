package dev.cmwq.jmh;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 6 of docs/benchmarks.md, {@code DelayedWorkRearm}: 100 000 timers pending 60 s out;
 * one operation re-arms the oldest one to 60 s from now. cmwq ({@code modDelayedWork} of an
 * embedded {@code DelayedWork}), ScheduledThreadPoolExecutor with removeOnCancel (cancel +
 * schedule) and Netty's HashedWheelTimer (cancel + newTimeout).
 *
 * <p>{@link #paired} runs all three inside one invocation in rotating order and records each
 * side's nanoseconds, so ratios come from the same JVM at the same moment (PairedMain reads
 * them). The single-implementation methods exist for {@code -prof gc} (bytes per operation).
 *
 * <pre>
 * java -jar cmwq-jmh/target/benchmarks.jar DelayedWorkRearm -prof gc
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PairedMain DelayedWorkRearm
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
public class DelayedWorkRearm {
  static final int PENDING = 100_000;
  static final int BATCH = 500;
  static final long SIXTY_SECONDS = TimeUnit.SECONDS.toNanos(60);
  static final Duration SIXTY = Duration.ofSeconds(60);
  static final Runnable NOOP = () -> { };

  TimerPeers.Cmwq cmwq;
  TimerPeers stpe;
  TimerPeers netty;
  int cursor;
  int round;

  /** Per-side time, read by PairedMain. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Sides {
    public long cmwqNanos;
    public long stpeNanos;
    public long nettyNanos;
    public long cmwqWakeups;
    public long ops;
  }

  @Setup(Level.Trial)
  public void setUp() {
    cmwq = (TimerPeers.Cmwq) TimerPeers.create("cmwq", PENDING, NOOP);
    stpe = TimerPeers.create("stpe", PENDING, NOOP);
    netty = TimerPeers.create("netty", PENDING, NOOP);
    for (int i = 0; i < PENDING; i++) {
      cmwq.arm(i, SIXTY);
      stpe.arm(i, SIXTY_SECONDS);
      netty.arm(i, SIXTY_SECONDS);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    cmwq.close();
    stpe.close();
    netty.close();
  }

  private int next() {
    int i = cursor;
    cursor = i + 1 == PENDING ? 0 : i + 1;
    return i;
  }

  /** All three, same batch of timers, order rotated every invocation. */
  @Benchmark
  @OperationsPerInvocation(3 * BATCH)
  public void paired(Sides s) {
    int start = cursor;
    cursor = (start + BATCH) % PENDING;
    int r = round++ % 3;
    for (int k = 0; k < 3; k++) {
      int which = (r + k) % 3;
      long t0 = System.nanoTime();
      if (which == 0) {
        long w0 = cmwq.wakeups();
        for (int j = 0; j < BATCH; j++) {
          cmwq.rearm((start + j) % PENDING, SIXTY);
        }
        s.cmwqNanos += System.nanoTime() - t0;
        s.cmwqWakeups += cmwq.wakeups() - w0;
      } else if (which == 1) {
        for (int j = 0; j < BATCH; j++) {
          stpe.rearm((start + j) % PENDING, SIXTY_SECONDS);
        }
        s.stpeNanos += System.nanoTime() - t0;
      } else {
        for (int j = 0; j < BATCH; j++) {
          netty.rearm((start + j) % PENDING, SIXTY_SECONDS);
        }
        s.nettyNanos += System.nanoTime() - t0;
      }
    }
    s.ops += BATCH;
  }

  /** cmwq alone: {@code modDelayedWork} of the oldest. */
  @Benchmark
  public void cmwqMod() {
    cmwq.rearm(next(), SIXTY);
  }

  /** cmwq alone, the other idiom: cancel then queueDelayedWork. */
  @Benchmark
  public void cmwqCancelQueue() {
    cmwq.cancelAndQueue(next(), SIXTY);
  }

  /** STPE alone: cancel + schedule. */
  @Benchmark
  public void stpe() {
    stpe.rearm(next(), SIXTY_SECONDS);
  }

  /** Netty alone: cancel + newTimeout. */
  @Benchmark
  public void netty() {
    netty.rearm(next(), SIXTY_SECONDS);
  }
}
