package dev.cmwq;

import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 item 7: cancel, cancelSync, disable(Sync) and enable. On return of the sync variants
 * the item is neither pending nor running even if it requeues itself; concurrent queue
 * attempts fail meanwhile. Every successful queue ends in exactly one run or one successful
 * cancel.
 */
class CancelTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    TestSupport.closeAndCheck(sys);
  }

  @Test
  void cancel_ofPendingItem_removesIt() {
    Workqueue wq = sys.workqueue("cancel").ordered().build();
    CountDownLatch gate = new CountDownLatch(1);
    wq.queueWork(new Work(() -> QueueWorkTest.awaitQuietly(gate)));
    AtomicInteger runs = new AtomicInteger();
    Work work = new Work(runs::incrementAndGet);
    wq.queueWork(work);
    assertThat(work.cancel()).isTrue();
    assertThat(work.isPending()).isFalse();
    assertThat(work.cancel()).isFalse();
    gate.countDown();
    wq.flush();
    assertThat(runs.get()).isZero();
    assertThat(wq.queueWork(work)).isTrue();
    wq.flush();
    assertThat(runs.get()).isEqualTo(1);
  }

  @Test
  void cancel_ofRunningItem_doesNotWait() throws Exception {
    Workqueue wq = sys.workqueue("cancel_running").build();
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    Work work = new Work(() -> {
      started.countDown();
      QueueWorkTest.awaitQuietly(gate);
    });
    wq.queueWork(work);
    QueueWorkTest.awaitQuietly(started);
    assertThat(work.cancel()).isFalse(); // not pending: running
    assertThat(work.isRunning()).isTrue();
    gate.countDown();
    work.flush();
  }

  @Test
  void cancelSync_ofSelfRequeueingItem_leavesItIdle() {
    Workqueue wq = sys.workqueue("cs").build();
    AtomicInteger running = new AtomicInteger();
    Work work = new Work(w -> {
      running.incrementAndGet();
      TestSupport.plainSleep(1);
      running.decrementAndGet();
      wq.queueWork(w); // fails once cancelSync has started
    });
    for (int i = 0; i < 20; i++) {
      wq.queueWork(work);
      TestSupport.plainSleep(3);
      work.cancelSync();
      assertThat(work.isPending()).isFalse();
      assertThat(running.get()).isZero();
      assertThat(work.isRunning()).isFalse();
      TestSupport.plainSleep(2);
      assertThat(work.isPending()).as("requeued after cancelSync returned").isFalse();
    }
  }

  @Test
  void cancelSync_concurrentQueueAttemptsFail_thenSucceedAfter() throws Exception {
    Workqueue wq = sys.workqueue("cs_conc").build();
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    Work work = new Work(() -> {
      started.countDown();
      QueueWorkTest.awaitQuietly(gate);
    });
    wq.queueWork(work);
    QueueWorkTest.awaitQuietly(started);
    Thread canceller = new Thread(work::cancelSync);
    canceller.start();
    await("canceller waiting", () -> canceller.getState() == Thread.State.WAITING);
    assertThat(wq.queueWork(work)).as("queueing during cancelSync").isFalse();
    assertThat(work.isPending()).isFalse();
    gate.countDown();
    canceller.join(TestSupport.LONG.toMillis());
    assertThat(canceller.isAlive()).isFalse();
    assertThat(wq.queueWork(work)).as("enabled again after cancelSync").isTrue();
    work.flush();
  }

  @Test
  void disable_refusesQueueingUntilEnabled_countsNest() {
    Workqueue wq = sys.workqueue("disable").build();
    AtomicInteger runs = new AtomicInteger();
    Work work = new Work(runs::incrementAndGet);
    assertThat(work.disable()).isFalse();
    assertThat(work.disable()).isFalse();
    assertThat(wq.queueWork(work)).isFalse();
    assertThat(work.enable()).isFalse(); // count 2 -> 1
    assertThat(wq.queueWork(work)).isFalse();
    assertThat(work.enable()).isTrue(); // 1 -> 0
    assertThat(wq.queueWork(work)).isTrue();
    wq.flush();
    assertThat(runs.get()).isEqualTo(1);
    long warnings = Warn.count();
    assertThat(work.enable()).isTrue(); // underflow: warned, stays 0
    assertThat(Warn.count()).isEqualTo(warnings + 1);
  }

  @Test
  void disableSync_waitsForTheRunningInstance() throws Exception {
    Workqueue wq = sys.workqueue("ds").build();
    CountDownLatch started = new CountDownLatch(1);
    AtomicBoolean finished = new AtomicBoolean();
    Work work = new Work(() -> {
      started.countDown();
      TestSupport.plainSleep(30);
      finished.set(true);
    });
    wq.queueWork(work);
    QueueWorkTest.awaitQuietly(started);
    assertThat(work.disableSync()).isFalse();
    assertThat(finished.get()).isTrue();
    assertThat(wq.queueWork(work)).isFalse();
    assertThat(work.enable()).isTrue();
  }

  /** Exactly-once accounting: every true queue ends in one run or one true cancel. */
  @Test
  void queueAndCancelStorm_exactlyOnceAccounting() throws Exception {
    Workqueue wq = sys.workqueue("storm").unbound().maxActive(2).build();
    int nItems = 64;
    Work[] items = new Work[nItems];
    AtomicInteger runs = new AtomicInteger();
    for (int i = 0; i < nItems; i++) {
      items[i] = new Work(runs::incrementAndGet);
    }
    AtomicInteger queued = new AtomicInteger();
    AtomicInteger cancelled = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      boolean canceller = t % 2 == 1;
      threads.add(new Thread(() -> {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        for (int i = 0; i < 20_000; i++) {
          Work w = items[rnd.nextInt(nItems)];
          if (canceller) {
            if (rnd.nextInt(8) == 0 ? w.cancelSync() : w.cancel()) {
              cancelled.incrementAndGet();
            }
          } else if (wq.queueWorkOn(rnd.nextInt(2), w)) {
            queued.incrementAndGet();
          }
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join();
    }
    wq.flush();
    assertThat(runs.get() + cancelled.get()).isEqualTo(queued.get());
  }
}
