package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 item 8 and the release half of item 10: while draining or destroying only chained
 * queueing is accepted; anything else is rejected loudly and the item left not pending; destroy
 * releases the pwqs on {@code pool_workqueue_release} and frees the workqueue after the last.
 */
class DrainDestroyTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    TestSupport.closeAndCheck(sys);
  }

  @Test
  void drain_acceptsChainedQueueing_rejectsOthers() throws Exception {
    Workqueue wq = sys.workqueue("drain").build();
    AtomicInteger chain = new AtomicInteger();
    CountDownLatch inFirst = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    Work link = new Work(w -> {
      inFirst.countDown();
      QueueWorkTest.awaitQuietly(gate);
      if (chain.incrementAndGet() < 50) {
        wq.queueWork(w); // chained: allowed while draining
      }
    });
    wq.queueWork(link);
    QueueWorkTest.awaitQuietly(inFirst);
    Thread drainer = new Thread(wq::drain);
    drainer.start();
    TestSupport.await("draining", () -> (wq.flags & Workqueue.__WQ_DRAINING) != 0);
    Work outsider = new Work(() -> { });
    assertThatThrownBy(() -> wq.queueWork(outsider))
        .isInstanceOf(RejectedExecutionException.class)
        .hasMessageContaining("drained");
    assertThat(outsider.isPending()).isFalse();
    gate.countDown();
    drainer.join(TestSupport.LONG.toMillis());
    assertThat(drainer.isAlive()).isFalse();
    assertThat(chain.get()).isEqualTo(50);
    assertThat(wq.queueWork(outsider)).as("accepted again after drain").isTrue();
    wq.flush();
  }

  @Test
  void destroy_releasesPwqsOnTheReleaseWorker_andFreesTheWorkqueue() {
    long releasesBefore = sys.releasesStarted.get();
    Workqueue percpu = sys.workqueue("d_percpu").build();
    Workqueue unbound = sys.workqueue("d_unbound").unbound().build();
    Workqueue ordered = sys.workqueue("d_ordered").ordered().build();
    for (Workqueue wq : new Workqueue[] {percpu, unbound, ordered}) {
      AtomicInteger runs = new AtomicInteger();
      for (int i = 0; i < 100; i++) {
        wq.queueWork(new Work(runs::incrementAndGet));
      }
      wq.destroy();
      assertThat(runs.get()).as("destroy drains first").isEqualTo(100);
      assertThat(wq.released().await(TestSupport.LONG)).as(wq.name() + " freed").isTrue();
      assertThat(wq.pwqs()).isEmpty();
      assertThat(sys.workqueues()).doesNotContain(wq);
      assertThat(wq.stats().completed()).as("stats survive release").isEqualTo(100);
      Work late = new Work(() -> { });
      assertThatThrownBy(() -> wq.queueWork(late))
          .isInstanceOf(RejectedExecutionException.class)
          .hasMessageContaining("destroyed");
      assertThat(late.isPending()).isFalse();
      wq.destroy(); // idempotent
    }
    // 2 per-CPU + 1 unbound (one pod: both CPU slots share the default pwq) + 1 ordered pwq.
    assertThat(sys.releasesStarted.get() - releasesBefore).isEqualTo(2 + 1 + 1);
  }

  @Test
  void destroy_ofSystemWorkqueue_isRefused() {
    assertThatThrownBy(() -> sys.system().destroy())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("system workqueue");
    assertThatThrownBy(() -> sys.systemUnbound().close())
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void flushDrainDestroy_fromOwnItem_failFast() {
    Workqueue wq = sys.workqueue("self").build();
    AtomicReference<Throwable> flush = new AtomicReference<>();
    AtomicReference<Throwable> drain = new AtomicReference<>();
    AtomicReference<Throwable> destroy = new AtomicReference<>();
    wq.queueWork(new Work(() -> {
      flush.set(TestSupport.catching(wq::flush));
      drain.set(TestSupport.catching(wq::drain));
      destroy.set(TestSupport.catching(wq::destroy));
    }));
    wq.flush();
    assertThat(flush.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("deadlock");
    assertThat(drain.get()).isInstanceOf(IllegalStateException.class);
    assertThat(destroy.get()).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void unboundPoolsAreSharedAndDieWithTheirLastPwq() {
    int poolsBefore = sys.unboundPools().size();
    Workqueue a = sys.workqueue("share_a").unbound().build();
    Workqueue b = sys.workqueue("share_b").unbound().build();
    assertThat(sys.unboundPools()).hasSize(poolsBefore); // same attrs as events_unbound
    a.applyAttrs(WorkqueueAttrs.defaults().withNice(7));
    b.applyAttrs(WorkqueueAttrs.defaults().withNice(7));
    assertThat(sys.unboundPools()).hasSize(poolsBefore + 1);
    WorkerPool nice7 = a.dflPwq().pool;
    assertThat(b.dflPwq().pool).isSameAs(nice7);
    String threadPrefix = "kworker/u" + nice7.id + ":";
    AtomicInteger runs = new AtomicInteger();
    a.queueWork(new Work(runs::incrementAndGet));
    a.flush();
    assertThat(TestSupport.threads(threadPrefix)).isNotEmpty();
    a.destroy();
    sys.releaseWorker.flush();
    assertThat(sys.unboundPools()).contains(nice7); // b still uses it
    b.destroy();
    sys.releaseWorker.flush();
    assertThat(sys.unboundPools()).doesNotContain(nice7).hasSize(poolsBefore);
    assertThat(TestSupport.threads(threadPrefix)).as("threads of the dead pool").isEmpty();
    assertThat(WorkerPool.byId(nice7.id)).isNotSameAs(nice7);
  }
}
