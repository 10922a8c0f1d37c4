package dev.cmwq;

import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 items 5 and 6: {@code flush_workqueue} waits only for what was queued before it
 * (colours; batched flushers; overflow) and {@code flush_work} waits for the last queueing
 * instance only.
 */
class FlushTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    TestSupport.closeAndCheck(sys);
  }

  @Test
  void flush_waitsForEverythingQueuedBefore_activeAndInactive() {
    Workqueue wq = sys.workqueue("flush").maxActive(1).build();
    AtomicInteger done = new AtomicInteger();
    for (int i = 0; i < 50; i++) {
      wq.queueWorkOn(i % 2, new Work(() -> {
        TestSupport.plainSleep(1);
        done.incrementAndGet();
      }));
    }
    wq.flush();
    assertThat(done.get()).isEqualTo(50);
  }

  /** A naive "wait until empty" flush never returns here: the item is always queued. */
  @Test
  void flush_isNotBlockedForeverByASelfRequeueingItem() {
    Workqueue wq = sys.workqueue("selfrequeue").build();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger runs = new AtomicInteger();
    Work work = new Work(w -> {
      runs.incrementAndGet();
      if (!stop.get()) {
        wq.queueWork(w);
      }
    });
    wq.queueWork(work);
    for (int i = 0; i < 200; i++) {
      int before = runs.get();
      wq.flush(); // waits for the instance queued before the call, not for the later ones
      assertThat(runs.get()).isGreaterThan(before - 1);
    }
    stop.set(true);
    work.cancelSync();
  }

  @Test
  void flush_doesNotWaitForItemsQueuedAfterIt() throws Exception {
    Workqueue wq = sys.workqueue("after").ordered().build();
    CountDownLatch firstStarted = new CountDownLatch(1);
    CountDownLatch releaseFirst = new CountDownLatch(1);
    CountDownLatch releaseSecond = new CountDownLatch(1);
    wq.queueWork(new Work(() -> {
      firstStarted.countDown();
      QueueWorkTest.awaitQuietly(releaseFirst);
    }));
    QueueWorkTest.awaitQuietly(firstStarted);
    AtomicBoolean flushed = new AtomicBoolean();
    Thread flusher = new Thread(() -> {
      wq.flush();
      flushed.set(true);
    });
    flusher.start();
    await("flusher waiting", () -> flusher.getState() == Thread.State.WAITING);
    wq.queueWork(new Work(() -> QueueWorkTest.awaitQuietly(releaseSecond))); // newer colour
    releaseFirst.countDown();
    flusher.join(TestSupport.LONG.toMillis());
    assertThat(flushed.get()).as("flush returned while a later item still blocks").isTrue();
    releaseSecond.countDown();
    wq.flush();
  }

  /**
   * More concurrent flushers than colours: the overflow queue takes the excess and every flusher
   * returns once its items are done.
   */
  @Test
  void concurrentFlushers_areBatchedByColour_includingOverflow() throws Exception {
    Workqueue wq = sys.workqueue("colours").build();
    AtomicInteger done = new AtomicInteger();
    CountDownLatch gate = new CountDownLatch(1);
    wq.queueWorkOn(0, new Work(() -> QueueWorkTest.awaitQuietly(gate)));
    List<Thread> flushers = new ArrayList<>();
    AtomicInteger returned = new AtomicInteger();
    for (int i = 0; i < 40; i++) {
      int id = i;
      Thread t = new Thread(() -> {
        wq.queueWorkOn(id % 2, new Work(done::incrementAndGet));
        wq.flush();
        returned.incrementAndGet();
      });
      flushers.add(t);
      t.start();
    }
    await("flushers blocked", () -> flushers.stream().allMatch(t -> t.getState() == Thread.State.WAITING));
    assertThat(returned.get()).isZero(); // everything waits behind the gated item's colour
    gate.countDown();
    for (Thread t : flushers) {
      t.join(TestSupport.LONG.toMillis());
    }
    assertThat(returned.get()).isEqualTo(40);
    assertThat(done.get()).isEqualTo(40);
  }

  @Test
  void flushOfIdleWorkqueue_returnsAtOnce() {
    Workqueue wq = sys.workqueue("idle").unbound().build();
    for (int i = 0; i < 1000; i++) {
      wq.flush();
    }
  }

  @Test
  void flushWork_waitsForTheLastInstanceOnly_andReportsIdle() throws Exception {
    Workqueue wq = sys.workqueue("fw").build();
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch gate = new CountDownLatch(1);
    Work work = new Work(() -> {
      runs.incrementAndGet();
      QueueWorkTest.awaitQuietly(gate);
    });
    assertThat(work.flush()).as("never queued").isFalse();
    wq.queueWork(work);
    AtomicBoolean waited = new AtomicBoolean();
    Thread flusher = new Thread(() -> waited.set(work.flush()));
    flusher.start();
    await("flush waiting", () -> flusher.getState() == Thread.State.WAITING);
    gate.countDown();
    flusher.join(TestSupport.LONG.toMillis());
    assertThat(waited.get()).isTrue();
    assertThat(runs.get()).isEqualTo(1);
    assertThat(work.flush()).as("idle").isFalse();
  }

  @Test
  void flushWork_ofARunningItem_waitsForThatExecution() throws Exception {
    Workqueue wq = sys.workqueue("fw_running").unbound().build();
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    AtomicBoolean finished = new AtomicBoolean();
    Work work = new Work(() -> {
      started.countDown();
      QueueWorkTest.awaitQuietly(gate);
      finished.set(true);
    });
    wq.queueWork(work);
    QueueWorkTest.awaitQuietly(started);
    assertThat(work.isRunning()).isTrue();
    assertThat(work.busy()).isEqualTo(Work.BUSY_RUNNING);
    Thread opener = new Thread(() -> {
      TestSupport.plainSleep(20);
      gate.countDown();
    });
    opener.start();
    assertThat(work.flush()).isTrue();
    assertThat(finished.get()).isTrue();
    opener.join();
  }

  @Test
  void flushWork_queuedBehindInactiveItems_movesWithItsTarget() {
    Workqueue wq = sys.workqueue("fw_inactive").maxActive(1).build();
    CountDownLatch gate = new CountDownLatch(1);
    wq.queueWorkOn(0, new Work(() -> QueueWorkTest.awaitQuietly(gate)));
    AtomicInteger order = new AtomicInteger();
    int[] ranAt = new int[2];
    Work a = new Work(() -> ranAt[0] = order.incrementAndGet());
    Work b = new Work(() -> ranAt[1] = order.incrementAndGet());
    wq.queueWorkOn(0, a);
    wq.queueWorkOn(0, b); // both inactive
    Thread opener = new Thread(() -> {
      TestSupport.plainSleep(20);
      gate.countDown();
    });
    opener.start();
    assertThat(a.flush()).isTrue(); // the barrier sits behind `a` on the inactive list
    assertThat(ranAt[0]).isEqualTo(1);
    wq.flush();
    assertThat(ranAt[1]).isEqualTo(2);
  }
}
