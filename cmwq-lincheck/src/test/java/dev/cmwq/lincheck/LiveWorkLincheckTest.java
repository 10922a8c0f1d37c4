package dev.cmwq.lincheck;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The Work API on a running workqueue: {@code queue_work} (on any CPU and on CPU 1),
 * {@code cancel_work}, {@code cancel_work_sync}, {@code flush_work} and {@code work_pending}
 * racing with the item's own execution. Each outcome is checked against
 * {@link KernelWorkVerifier.Live}; after each run {@link #kernelGuarantees()} flushes the item
 * and checks, from the runs the work function recorded:
 *
 * <ul>
 *   <li><b>the kernel's real guarantee</b>: an execution starts after the start of the last
 *       queue call (whether it returned true or coalesced into a pending instance), unless a
 *       cancel was still in flight when that queue began;
 *   <li><b>exactly once</b>: every queue that returned true ended in exactly one run or in
 *       exactly one cancel that returned true ({@code queued == runs + stolen});
 *   <li><b>never reentrant</b>: no two runs of the item overlapped.
 * </ul>
 */
public class LiveWorkLincheckTest {
  private static final WorkqueueSystem SYS = WorkqueueSystem.builder()
      .cpus(2)
      .watchdogThreshold(Duration.ZERO)
      .name("lincheck-live")
      .jmx(false)
      .build();
  private static final Workqueue WQ = SYS.workqueue("live").build();

  /** Ticks ordering queue starts, cancel ends and execution starts of this instance. */
  private final AtomicLong clock = new AtomicLong();
  private final AtomicLong lastQueueStart = new AtomicLong();
  private final AtomicLong lastCancelEnd = new AtomicLong();
  private final AtomicLong lastRunStart = new AtomicLong();
  private final AtomicInteger queued = new AtomicInteger();
  private final AtomicInteger stolen = new AtomicInteger();
  private final AtomicInteger runs = new AtomicInteger();
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicInteger overlaps = new AtomicInteger();
  private final Work work = new Work(this::run);

  private void run() {
    lastRunStart.accumulateAndGet(clock.incrementAndGet(), Math::max);
    if (running.incrementAndGet() != 1) {
      overlaps.incrementAndGet();
    }
    runs.incrementAndGet();
    running.decrementAndGet();
  }

  private boolean queued(boolean ok) {
    if (ok) {
      queued.incrementAndGet();
    }
    return ok;
  }

  private boolean cancelled(boolean ok) {
    if (ok) {
      stolen.incrementAndGet();
    }
    lastCancelEnd.accumulateAndGet(clock.incrementAndGet(), Math::max);
    return ok;
  }

  @Operation
  public boolean queue() {
    lastQueueStart.accumulateAndGet(clock.incrementAndGet(), Math::max);
    return queued(WQ.queueWork(work));
  }

  @Operation
  public boolean queueOnCpu1() {
    lastQueueStart.accumulateAndGet(clock.incrementAndGet(), Math::max);
    return queued(WQ.queueWorkOn(1, work));
  }

  @Operation
  public boolean cancel() {
    return cancelled(work.cancel());
  }

  @Operation
  public boolean cancelSync() {
    return cancelled(work.cancelSync());
  }

  @Operation
  public boolean flush() {
    return work.flush();
  }

  @Operation
  public boolean isPending() {
    return work.isPending();
  }

  @Validate
  public void kernelGuarantees() {
    work.flush();
    if (work.isPending()) {
      throw new IllegalStateException("still pending after flush with no queue in flight");
    }
    long q = lastQueueStart.get();
    if (q != 0 && q > lastCancelEnd.get() && lastRunStart.get() < q) {
      throw new IllegalStateException("lost wake-up: the last queue started at tick " + q
          + " (no cancel in flight) but the last execution started at tick " + lastRunStart.get());
    }
    if (queued.get() != runs.get() + stolen.get()) {
      throw new IllegalStateException("exactly-once broken: " + queued.get() + " queued, "
          + runs.get() + " ran, " + stolen.get() + " stolen by cancel");
    }
    if (overlaps.get() != 0) {
      throw new IllegalStateException("ran reentrantly " + overlaps.get() + " times");
    }
  }

  @Test
  void stress() {
    KernelWorkVerifier.stress(getClass(), KernelWorkVerifier.Live.class);
  }

  @AfterAll
  static void close() {
    SYS.close();
  }
}
