package dev.cmwq.jmh;

import dev.cmwq.BenchAccess;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * What the JFR events add to one queued and executed item when no recording enables them
 * (issue 6: "disabled events cost about nothing on the queue path"). {@link #paired} times the
 * engine's event calls for an item (queue, activate, execute start and end) against the same
 * call shape without events, in rotating order inside one invocation; {@code PairedMain
 * JfrEventCost} prints ns per item for both and their ratio.
 *
 * <p>Run it twice: as is (no recording in the JVM: the event classes are never instrumented)
 * and with {@code -jvmArgsAppend -XX:StartFlightRecording} (an always-on recording with the
 * events' defaults: queue and activate off, execution on with a 20 ms threshold).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(3)
public class JfrEventCost {
  static final int BATCH = 2_000;

  WorkqueueSystem sys;
  Workqueue wq;
  Work work;
  Object pool;
  int round;

  /** Per-side time, read by PairedMain. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Sides {
    public long cmwqNanos;
    public long baselineNanos;
    public long ops;
  }

  @Setup(Level.Trial)
  public void setUp() {
    sys = WorkqueueSystem.builder().cpus(1).build();
    wq = sys.workqueue("jfr_cost").build();
    work = new Work(() -> { });
    pool = BenchAccess.pool(wq, 0);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    sys.close();
  }

  /** Events and baseline, same arguments, order alternated every invocation. */
  @Benchmark
  @OperationsPerInvocation(2 * BATCH)
  public void paired(Sides s, Blackhole bh) {
    boolean eventsFirst = (round++ & 1) == 0;
    for (int k = 0; k < 2; k++) {
      long t0 = System.nanoTime();
      if (eventsFirst == (k == 0)) {
        for (int j = 0; j < BATCH; j++) {
          bh.consume(BenchAccess.traceQueueAndExecute(wq, work, pool));
        }
        s.cmwqNanos += System.nanoTime() - t0;
      } else {
        for (int j = 0; j < BATCH; j++) {
          bh.consume(BenchAccess.untraced(wq, work, pool));
        }
        s.baselineNanos += System.nanoTime() - t0;
      }
    }
    s.ops += BATCH;
  }

  /** The event calls alone. */
  @Benchmark
  public boolean events() {
    return BenchAccess.traceQueueAndExecute(wq, work, pool);
  }

  /** The baseline alone. */
  @Benchmark
  public boolean baseline() {
    return BenchAccess.untraced(wq, work, pool);
  }
}
