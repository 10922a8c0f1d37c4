package dev.cmwq;

import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** SPEC §3 item 13: freeze_workqueues_begin / freeze_workqueues_busy / thaw_workqueues. */
class FreezerTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    sys.thaw();
    TestSupport.closeAndCheck(sys);
  }

  @Test
  void frozenWorkqueuesStartNothing_andThawRunsTheWaitersInOrder() {
    Workqueue ordered = sys.workqueue("fz_ordered").ordered().freezable().build();
    Workqueue percpu = sys.workqueue("fz_percpu").freezable().build();
    Workqueue unbound = sys.workqueue("fz_unbound").unbound().freezable().build();
    Workqueue plain = sys.workqueue("not_freezable").build();
    sys.freezeBegin();
    assertThat(sys.isFreezing()).isTrue();
    List<Integer> orderedRuns = Collections.synchronizedList(new ArrayList<>());
    List<Integer> percpuRuns = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger unboundRuns = new AtomicInteger();
    for (int i = 0; i < 200; i++) {
      int id = i;
      ordered.queueWork(new Work(() -> orderedRuns.add(id)));
      percpu.queueWorkOn(0, new Work(() -> percpuRuns.add(id)));
      unbound.queueWork(new Work(unboundRuns::incrementAndGet));
    }
    AtomicInteger plainRuns = new AtomicInteger();
    plain.queueWork(new Work(plainRuns::incrementAndGet));
    plain.flush();
    assertThat(plainRuns.get()).as("non-freezable workqueues keep running").isEqualTo(1);
    TestSupport.plainSleep(100);
    assertThat(orderedRuns).isEmpty();
    assertThat(percpuRuns).isEmpty();
    assertThat(unboundRuns.get()).isZero();
    assertThat(sys.isFreezeBusy()).as("nothing active: the freeze is complete").isFalse();
    assertThat(ordered.isCongested(0)).isTrue();
    Workqueue late = sys.workqueue("fz_late").freezable().build();
    AtomicInteger lateRuns = new AtomicInteger();
    late.queueWork(new Work(lateRuns::incrementAndGet));

    sys.thaw();
    assertThat(sys.isFreezing()).isFalse();
    ordered.flush();
    percpu.flush();
    unbound.flush();
    late.flush();
    assertThat(orderedRuns).hasSize(200).isSorted();
    assertThat(percpuRuns).hasSize(200).isSorted(); // one pwq: FIFO
    assertThat(unboundRuns.get()).isEqualTo(200);
    assertThat(lateRuns.get()).as("a workqueue created during the freeze was frozen too").isEqualTo(1);
  }

  @Test
  void freezeBusy_reportsItemsStillRunning() {
    Workqueue wq = sys.workqueue("fz_busy").freezable().build();
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    wq.queueWork(new Work(() -> {
      started.countDown();
      QueueWorkTest.awaitQuietly(gate);
    }));
    QueueWorkTest.awaitQuietly(started);
    sys.freezeBegin();
    assertThat(sys.isFreezeBusy()).as("an item is still running").isTrue();
    AtomicInteger later = new AtomicInteger();
    wq.queueWork(new Work(later::incrementAndGet));
    gate.countDown();
    await("freeze complete", () -> !sys.isFreezeBusy());
    assertThat(later.get()).isZero();
    sys.thaw();
    wq.flush();
    assertThat(later.get()).isEqualTo(1);
  }

  @Test
  void systemFreezableWorkqueuesFreezeToo_andMisuseIsReported() {
    assertThatThrownBy(sys::isFreezeBusy).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no freeze in progress");
    sys.thaw(); // not freezing: no-op
    sys.freezeBegin();
    assertThatThrownBy(sys::freezeBegin).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already freezing");
    AtomicInteger runs = new AtomicInteger();
    sys.systemFreezable().queueWork(new Work(runs::incrementAndGet));
    sys.systemFreezablePowerEfficient().queueWork(new Work(runs::incrementAndGet));
    TestSupport.plainSleep(50);
    assertThat(runs.get()).isZero();
    sys.thaw();
    sys.systemFreezable().flush();
    sys.systemFreezablePowerEfficient().flush();
    assertThat(runs.get()).isEqualTo(2);
  }
}
