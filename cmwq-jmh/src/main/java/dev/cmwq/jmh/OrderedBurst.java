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
 * Benchmark 2 of docs/benchmarks.md, {@code OrderedBurst}: the burst of benchmark 1 on an
 * ordered workqueue ({@code alloc_ordered_workqueue}); peers Guava's sequential executor over a
 * ForkJoinPool(2), a single-thread ThreadPoolExecutor, the LMAX Disruptor (1P1C, blocking) and
 * the JCTools MPSC single-consumer reference. Every side checks that its items ran in queueing
 * order; violations are counted ({@code orderViolations}, must be 0).
 *
 * <p>{@link #paired} runs every side once per invocation in rotating order and records each
 * side's nanoseconds (PairedMain turns them into ratios); {@link #single} runs one side, for
 * {@code -prof gc} (bytes per item).
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PairedMain OrderedBurst
 * java -jar cmwq-jmh/target/benchmarks.jar 'OrderedBurst.single' -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 5, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "-XX:+UseParallelGC"})
public class OrderedBurst {
  static final int BURST = 10_000;
  static final String[] SIDES = {"cmwqOrdered", "guavaSeq", "tpe1", "disruptor", "mpsc"};

  BurstPeers[] sides;
  int round;

  /** Per-side time, read by PairedMain. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Sides {
    public long cmwqNanos;
    public long guavaSeqNanos;
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
    s.guavaSeqNanos += ns[1];
    s.tpe1Nanos += ns[2];
    s.disruptorNanos += ns[3];
    s.mpscNanos += ns[4];
    s.ops += BURST;
    s.orderViolations += BurstPeers.takeOrderViolations(sides);
  }

  /** One side alone, for {@code -prof gc}. */
  @State(Scope.Benchmark)
  public static class Single {
    @Param({"cmwqOrdered", "guavaSeq", "tpe1", "disruptor", "mpsc"})
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
