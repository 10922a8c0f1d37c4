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
 * Benchmark 1 of docs/benchmarks.md, {@code QueueWorkBurst}: one producer queues a burst of
 * 10 000 preallocated items (body: one atomic add) and waits, parked, until all have run. cmwq
 * on the per-CPU system workqueue and on the unbound one; peers ThreadPoolExecutor(2) over a
 * LinkedBlockingQueue, ForkJoinPool(2), Guava's sequential executor over a ForkJoinPool(2), the
 * LMAX Disruptor (1P1C, blocking) and a JCTools MPSC single-consumer reference executor.
 *
 * <p>{@link #paired} runs every side once per invocation in rotating order and records each
 * side's nanoseconds (PairedMain turns them into ratios); {@link #single} runs one side, for
 * {@code -prof gc} (bytes per item).
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PairedMain QueueWorkBurst
 * java -jar cmwq-jmh/target/benchmarks.jar 'QueueWorkBurst.single' -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 5, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "-XX:+UseParallelGC"})
public class QueueWorkBurst {
  static final int BURST = 10_000;
  static final String[] SIDES = {"cmwq", "cmwqUnbound", "tpe", "fjp", "guavaSeq", "disruptor", "mpsc"};

  BurstPeers[] sides;
  int round;

  /** Per-side time, read by PairedMain. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Sides {
    public long cmwqNanos;
    public long cmwqUnboundNanos;
    public long tpeNanos;
    public long fjpNanos;
    public long guavaSeqNanos;
    public long disruptorNanos;
    public long mpscNanos;
    public long ops;
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
    s.cmwqUnboundNanos += ns[1];
    s.tpeNanos += ns[2];
    s.fjpNanos += ns[3];
    s.guavaSeqNanos += ns[4];
    s.disruptorNanos += ns[5];
    s.mpscNanos += ns[6];
    s.ops += BURST;
  }

  /** One side alone, for {@code -prof gc}. */
  @State(Scope.Benchmark)
  public static class Single {
    @Param({"cmwq", "cmwqUnbound", "tpe", "fjp", "guavaSeq", "disruptor", "mpsc"})
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
