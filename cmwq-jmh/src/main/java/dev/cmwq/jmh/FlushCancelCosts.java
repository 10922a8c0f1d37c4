package dev.cmwq.jmh;

import dev.cmwq.DelayedWork;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
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
 * Benchmark 10 of docs/benchmarks.md, {@code FlushCancelCosts}: what the control operations cost
 * when there is nothing to wait for. Pairs (cmwq side / peer):
 *
 * <ul>
 *   <li>{@code cmwqFlush} ({@code flush_workqueue} of an idle workqueue) and {@code cmwqDrain}
 *       ({@code drain_workqueue}) against {@code barrier} ({@code submit(noop).get()} on an idle
 *       ThreadPoolExecutor(1), the executor way to wait for everything queued before);
 *   <li>{@code cmwqQueueCancel} (queue on a frozen workqueue, then {@code cancel_work} of the
 *       pending item) against {@code tpeQueueCancel} (submit behind a parked task, then
 *       {@code Future.cancel(false)});
 *   <li>{@code cmwqCancelSyncIdle} ({@code cancel_work_sync} of an idle item), for its absolute
 *       cost;
 *   <li>{@code cmwqDelayedCancelSync} ({@code queue_delayed_work} 60 s out, then
 *       {@code cancel_delayed_work_sync}) against {@code stpeScheduleCancel} (schedule 60 s out,
 *       then {@code cancel(false)} with removeOnCancel).
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 5, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch", "-XX:+UseParallelGC"})
public class FlushCancelCosts {
  static final int K = 200;
  static final Duration SIXTY = Duration.ofSeconds(60);

  WorkqueueSystem sys;
  Workqueue idle;
  Workqueue frozen;
  Work work;
  Work idleWork;
  DelayedWork dwork;
  ExecutorService tpe1;
  ExecutorService tpeBlocked;
  CountDownLatch release;
  ScheduledThreadPoolExecutor stpe;
  int round;

  /** Per-side time, read by PairedMain. */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Sides {
    public long cmwqFlushNanos;
    public long cmwqDrainNanos;
    public long barrierNanos;
    public long cmwqQueueCancelNanos;
    public long tpeQueueCancelNanos;
    public long cmwqCancelSyncIdleNanos;
    public long cmwqDelayedCancelSyncNanos;
    public long stpeScheduleCancelNanos;
    public long ops;
  }

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    sys = WorkqueueSystem.builder().name("bench-fc").jmx(false).watchdogThreshold(Duration.ZERO)
        .build();
    idle = sys.workqueue("idle").build();
    frozen = sys.workqueue("frozen").freezable().build();
    sys.freezeBegin();
    work = new Work(() -> { });
    idleWork = new Work(() -> { });
    dwork = new DelayedWork(() -> { });
    tpe1 = Executors.newFixedThreadPool(1);
    tpe1.submit(() -> { }).get();
    tpeBlocked = Executors.newFixedThreadPool(1);
    release = new CountDownLatch(1);
    tpeBlocked.execute(() -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    stpe = new ScheduledThreadPoolExecutor(1);
    stpe.setRemoveOnCancelPolicy(true);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    release.countDown();
    tpe1.shutdownNow();
    tpeBlocked.shutdownNow();
    stpe.shutdownNow();
    sys.thaw();
    sys.close();
  }

  private long flushes() {
    long t0 = System.nanoTime();
    for (int i = 0; i < K; i++) {
      idle.flush();
    }
    return System.nanoTime() - t0;
  }

  private long drains() {
    long t0 = System.nanoTime();
    for (int i = 0; i < K; i++) {
      idle.drain();
    }
    return System.nanoTime() - t0;
  }

  private long barriers() throws InterruptedException, ExecutionException {
    long t0 = System.nanoTime();
    for (int i = 0; i < K; i++) {
      tpe1.submit(RoundTrips.NOOP).get();
    }
    return System.nanoTime() - t0;
  }

  private long queueCancels() {
    long t0 = System.nanoTime();
    for (int i = 0; i < K; i++) {
      frozen.queueWork(work);
      work.cancel();
    }
    return System.nanoTime() - t0;
  }

  private long tpeQueueCancels() {
    long t0 = System.nanoTime();
    for (int i = 0; i < K; i++) {
      tpeBlocked.submit(RoundTrips.NOOP).cancel(false);
    }
    long dt = System.nanoTime() - t0;
    // Cancelled futures stay in the queue until the blocker finishes: purge them, untimed.
    ((java.util.concurrent.ThreadPoolExecutor) tpeBlocked).purge();
    return dt;
  }

  private long cancelSyncIdles() {
    long t0 = System.nanoTime();
    for (int i = 0; i < K; i++) {
      idleWork.cancelSync();
    }
    return System.nanoTime() - t0;
  }

  private long delayedCancelSyncs() {
    long t0 = System.nanoTime();
    for (int i = 0; i < K; i++) {
      idle.queueDelayedWork(dwork, SIXTY);
      dwork.cancelSync();
    }
    return System.nanoTime() - t0;
  }

  private long stpeScheduleCancels() {
    long t0 = System.nanoTime();
    for (int i = 0; i < K; i++) {
      stpe.schedule(RoundTrips.NOOP, 60, TimeUnit.SECONDS).cancel(false);
    }
    return System.nanoTime() - t0;
  }

  /** Every operation, {@link #K} times per side, order rotated each invocation. */
  @Benchmark
  @OperationsPerInvocation(K)
  public void paired(Sides s) throws Exception {
    int r = round++;
    for (int k = 0; k < 8; k++) {
      switch ((r + k) % 8) {
        case 0 -> s.cmwqFlushNanos += flushes();
        case 1 -> s.cmwqDrainNanos += drains();
        case 2 -> s.barrierNanos += barriers();
        case 3 -> s.cmwqQueueCancelNanos += queueCancels();
        case 4 -> s.tpeQueueCancelNanos += tpeQueueCancels();
        case 5 -> s.cmwqCancelSyncIdleNanos += cancelSyncIdles();
        case 6 -> s.cmwqDelayedCancelSyncNanos += delayedCancelSyncs();
        default -> s.stpeScheduleCancelNanos += stpeScheduleCancels();
      }
    }
    s.ops += K;
  }
}
