package dev.cmwq.jmh;

import java.util.ArrayList;
import java.util.List;
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
 * Benchmark 3 of docs/benchmarks.md, {@code IdleRoundTrip}, and the round trip of benchmark 8:
 * hand one item to an idle implementation and wait for it — {@code queue_work} +
 * {@code flush_work} on the system workqueue ({@code cmwq}), the same on a dedicated
 * {@code KthreadWorker} ({@code cmwqKthread}); peers {@code submit(noop).get()} on a
 * ThreadPoolExecutor(1) and a ForkJoinPool(2), Guava's sequential executor with a parking waiter,
 * and a virtual thread per item (JDK 21+). Both wake-ups are paid on every side: none spins.
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PairedMain IdleRoundTrip
 * java -jar cmwq-jmh/target/benchmarks.jar 'IdleRoundTrip.single' -bm sample -tu us   # percentiles
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 5, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "-XX:+UseParallelGC"})
public class IdleRoundTrip {
  static final int TRIPS = 20;
  static final String[] SIDES = {"cmwq", "kthread", "tpe1", "fjp", "guavaSeq", "vthread"};

  RoundTrips[] sides;
  int round;

  /** Per-side time, read by PairedMain. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Sides {
    public long cmwqNanos;
    public long cmwqKthreadNanos;
    public long tpe1Nanos;
    public long fjpNanos;
    public long guavaSeqNanos;
    public long vthreadNanos;
    public long ops;
  }

  @Setup(Level.Trial)
  public void setUp() {
    List<RoundTrips> list = new ArrayList<>();
    for (String side : SIDES) {
      list.add(RoundTrips.create(side));
    }
    sides = list.toArray(new RoundTrips[0]);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    for (RoundTrips s : sides) {
      s.close();
    }
  }

  /** Every available side, {@link #TRIPS} round trips each, order rotated each invocation. */
  @Benchmark
  @OperationsPerInvocation(TRIPS)
  public void paired(Sides s) throws Throwable {
    int r = round++;
    for (int k = 0; k < sides.length; k++) {
      int which = (r + k) % sides.length;
      RoundTrips side = sides[which];
      if (!side.available()) {
        continue;
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < TRIPS; i++) {
        side.roundTrip();
      }
      long dt = System.nanoTime() - t0;
      switch (which) {
        case 0 -> s.cmwqNanos += dt;
        case 1 -> s.cmwqKthreadNanos += dt;
        case 2 -> s.tpe1Nanos += dt;
        case 3 -> s.fjpNanos += dt;
        case 4 -> s.guavaSeqNanos += dt;
        default -> s.vthreadNanos += dt;
      }
    }
    s.ops += TRIPS;
  }

  /** One side alone, for percentiles ({@code -bm sample}) and {@code -prof gc}. */
  @State(Scope.Benchmark)
  public static class Single {
    @Param({"cmwq", "kthread", "tpe1", "fjp", "guavaSeq", "vthread"})
    public String side;
    RoundTrips trip;

    @Setup(Level.Trial)
    public void setUp() {
      trip = RoundTrips.create(side);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      trip.close();
    }
  }

  @Benchmark
  @Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC"})
  public void single(Single s) throws Throwable {
    if (s.trip.available()) {
      s.trip.roundTrip();
    }
  }
}
