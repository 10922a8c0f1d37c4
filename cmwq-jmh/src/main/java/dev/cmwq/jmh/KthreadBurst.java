package dev.cmwq.jmh;

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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 8 of docs/benchmarks.md, {@code KthreadWorker} (bursts): 10 000 preallocated
 * {@code KthreadWork} items queued on one dedicated {@code KthreadWorker}; peers a single-thread
 * ThreadPoolExecutor, the JCTools MPSC single-consumer reference and the LMAX Disruptor (1P1C,
 * blocking). Every side runs its items in order and checks it ({@code orderViolations}). The
 * round trip half of benchmark 8 is in {@link IdleRoundTrip}.
 *
 * <p>{@link #paired} runs every side once per invocation in rotating order and records each
 * side's nanoseconds (PairedMain turns them into ratios); {@link #single} runs one side, for
 * {@code -prof gc} (bytes per item).
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PairedMain KthreadBurst
 * java -jar cmwq-jmh/target/benchmarks.jar 'KthreadBurst.single' -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 5, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "-XX:+UseParallelGC"})
public class KthreadBurst {
  static final int BURST = 10_000;
  static final String[] SIDES = {"kthread", "tpe1", "disruptor", "mpsc"};

  BurstPeers[] sides;
  int round;

  /** Per-side time, read by PairedMain. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Sides {
    public long cmwqNanos;
    public long tpe1Nanos;
    public long disruptorNanos;
    public long mpscNanos;
    public long ops;
    public long orderViolations;
  }

  @Setup(Level.Trial)
  public void setUp() {
    sides = BurstPeers.createAll(SIDES, BURST);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    BurstPeers.closeAll(sides);
  }

  /** Every side once, order rotated each invocation. */
  @Benchmark
  @OperationsPerInvocation(BURST)
  public void paired(Sides s) {
    long[] ns = BurstPeers.runRotated(sides, round++);
    s.cmwqNanos += ns[0];
    s.tpe1Nanos += ns[1];
    s.disruptorNanos += ns[2];
    s.mpscNanos += ns[3];
    s.ops += BURST;
    s.orderViolations += BurstPeers.takeOrderViolations(sides);
  }

  /** One side alone, for {@code -prof gc}. */
  @State(Scope.Benchmark)
  public static class Single {
    @Param({"kthread", "tpe1", "disruptor", "mpsc"})
    public String side;
    BurstPeers peer;

    @Setup(Level.Trial)
    public void setUp() {
      peer = BurstPeers.create(side, BURST);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      peer.close();
    }
  }

  @Benchmark
  @OperationsPerInvocation(BURST)
  @Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
  public void single(Single s) {
    s.peer.runBurst();
  }
}
