package dev.cmwq.lincheck;

import dev.cmwq.LincheckAccess;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import java.time.Duration;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@code queue_work} / {@code cancel_work} / {@code cancel_work_sync} / {@code work_pending} on
 * one item of a frozen workqueue, where nothing executes and the strict specification of
 * {@link KernelWorkVerifier.Frozen} applies: Lincheck runs each generated scenario many times on
 * real threads and checks every outcome. After each run {@link #itemOnItsList()} checks the
 * engine agrees with itself: the item is PENDING exactly when it sits on its pwq's inactive list
 * (so once thawed it will run exactly once).
 */
public class FrozenWorkLincheckTest {
  private static final WorkqueueSystem SYS = WorkqueueSystem.builder()
      .cpus(2)
      .watchdogThreshold(Duration.ZERO)
      .name("lincheck-frozen")
      .jmx(false)
      .build();
  private static final Workqueue WQ = SYS.workqueue("frozen").freezable().build();

  static {
    SYS.freezeBegin();
  }

  private final Work work = new Work(() -> {});

  @Operation
  public boolean queue() {
    return WQ.queueWork(work);
  }

  @Operation
  public boolean queueOnCpu1() {
    return WQ.queueWorkOn(1, work);
  }

  @Operation
  public boolean cancel() {
    return work.cancel();
  }

  @Operation
  public boolean cancelSync() {
    return work.cancelSync();
  }

  @Operation
  public boolean isPending() {
    return work.isPending();
  }

  @Validate
  public void itemOnItsList() {
    String where = LincheckAccess.where(work);
    if (where.startsWith("inconsistent")) {
      throw new IllegalStateException(where);
    }
    if (work.isPending() != where.equals("inactive")) {
      throw new IllegalStateException("pending " + work.isPending() + " but " + where);
    }
    // Nothing is left queued behind for the frozen workqueue to accumulate.
    work.cancel();
  }

  @Test
  void stress() {
    KernelWorkVerifier.stress(getClass(), KernelWorkVerifier.Frozen.class);
  }

  @AfterAll
  static void close() {
    SYS.thaw();
    SYS.close();
  }
}
