package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 item 3: ordered workqueues run items one at a time in queueing order, across
 * producers and across attribute changes (plugged pwqs). A two-thread executor fails the first
 * test; a naive attribute switch (new pool starts right away) fails the second.
 */
class OrderedTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    TestSupport.closeAndCheck(sys);
  }

  /** Queues {@code perProducer} items from each producer, recording the queueing order. */
  private static List<Integer> runProducers(Workqueue wq, int producers, int perProducer,
      List<Integer> executed, AtomicInteger running, AtomicInteger overlaps, Runnable during)
      throws InterruptedException {
    List<Integer> queuedOrder = new ArrayList<>();
    Object queueLock = new Object();
    List<Thread> threads = new ArrayList<>();
    AtomicInteger ids = new AtomicInteger();
    for (int p = 0; p < producers; p++) {
      threads.add(new Thread(() -> {
        for (int i = 0; i < perProducer; i++) {
          synchronized (queueLock) {
            int id = ids.getAndIncrement();
            queuedOrder.add(id);
            wq.queueWorkOn(ThreadLocalRandom.current().nextInt(2), new Work(() -> {
              if (running.incrementAndGet() != 1) {
                overlaps.incrementAndGet();
              }
              executed.add(id);
              if ((id & 63) == 0) {
                Thread.yield();
              }
              running.decrementAndGet();
            }));
          }
        }
      }));
    }
    threads.forEach(Thread::start);
    during.run();
    for (Thread t : threads) {
      t.join();
    }
    return queuedOrder;
  }

  @Test
  void fifoAcrossProducers_oneAtATime() throws Exception {
    Workqueue wq = sys.workqueue("ordered").ordered().build();
    assertThat(wq.isOrdered()).isTrue();
    assertThat(wq.maxActive()).isEqualTo(1);
    assertThat(wq.flags()).contains(WqFlag.ORDERED, WqFlag.UNBOUND);
    List<Integer> executed = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger running = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    List<Integer> queued = runProducers(wq, 4, 5000, executed, running, overlaps, () -> { });
    wq.flush();
    assertThat(overlaps.get()).isZero();
    assertThat(executed).containsExactlyElementsOf(queued);
  }

  @Test
  void orderKeptAcrossApplyAttrs_pluggedPwqs() throws Exception {
    Workqueue wq = sys.workqueue("ordered_attrs").ordered().build();
    List<Integer> executed = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger running = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    AtomicBoolean applying = new AtomicBoolean(true);
    List<Integer> queued = runProducers(wq, 3, 4000, executed, running, overlaps, () -> {
      for (int i = 0; i < 30; i++) {
        wq.applyAttrs(WorkqueueAttrs.defaults().withNice(i % 3));
      }
      applying.set(false);
    });
    wq.flush();
    assertThat(applying.get()).isFalse();
    assertThat(overlaps.get()).isZero();
    assertThat(executed).containsExactlyElementsOf(queued);
    // Old pwqs are released once drained, leaving the newest.
    sys.releaseWorker.flush();
    TestSupport.await("old pwqs released", () -> wq.pwqs().length == 1);
  }

  @Test
  void unboundWithMaxActiveOne_isNotOrdered() {
    // Linux 6.9+: only ordered() orders; UNBOUND + max_active 1 is just a limit per node.
    Workqueue wq = sys.workqueue("not_ordered").unbound().maxActive(1).build();
    assertThat(wq.isOrdered()).isFalse();
    assertThat(wq.flags()).doesNotContain(WqFlag.ORDERED);
  }
}
