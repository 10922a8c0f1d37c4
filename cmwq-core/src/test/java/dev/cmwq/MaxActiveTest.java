package dev.cmwq;

import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 item 4: max_active per CPU for per-CPU workqueues, system-wide with a per-node split
 * and min_active floor for unbound ones; inactive items are FIFO and never overtaken.
 */
class MaxActiveTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    TestSupport.closeAndCheck(sys);
  }

  /** Counts concurrent executions and remembers the peak. */
  static final class Concurrency {
    final AtomicInteger now = new AtomicInteger();
    final AtomicInteger peak = new AtomicInteger();

    void enter() {
      int n = now.incrementAndGet();
      peak.accumulateAndGet(n, Math::max);
    }

    void exit() {
      now.decrementAndGet();
    }
  }

  @Test
  void perCpu_maxActive2_tenBlockingItems_neverExceedTwo() {
    Workqueue wq = sys.workqueue("max2").maxActive(2).build();
    Concurrency c = new Concurrency();
    for (int i = 0; i < 10; i++) {
      wq.queueWorkOn(0, new Work(() -> {
        c.enter();
        TestSupport.managedSleep(20); // blocks: concurrency management would start more
        c.exit();
      }));
    }
    assertThat(wq.isCongested(0)).isTrue();
    assertThat(wq.isCongested(1)).isFalse();
    wq.flush();
    assertThat(c.peak.get()).isEqualTo(2);
    assertThat(wq.stats().completed()).isEqualTo(10);
  }

  @Test
  void perCpu_limitIsPerCpu() {
    Workqueue wq = sys.workqueue("max2pc").maxActive(2).build();
    Concurrency all = new Concurrency();
    Concurrency[] perCpu = {new Concurrency(), new Concurrency()};
    CountDownLatch four = new CountDownLatch(4);
    for (int i = 0; i < 8; i++) {
      int cpu = i % 2;
      wq.queueWorkOn(cpu, new Work(() -> {
        all.enter();
        perCpu[cpu].enter();
        four.countDown();
        QueueWorkTest.awaitQuietly(four);
        perCpu[cpu].exit();
        all.exit();
      }));
    }
    wq.flush();
    assertThat(all.peak.get()).isEqualTo(4);
    assertThat(perCpu[0].peak.get()).isEqualTo(2);
    assertThat(perCpu[1].peak.get()).isEqualTo(2);
  }

  @Test
  void unbound_limitIsSystemWide() {
    Workqueue wq = sys.workqueue("ub3").unbound().maxActive(3).build();
    Concurrency c = new Concurrency();
    for (int i = 0; i < 12; i++) {
      wq.queueWorkOn(i % 2, new Work(() -> {
        c.enter();
        TestSupport.plainSleep(15);
        c.exit();
      }));
    }
    wq.flush();
    assertThat(c.peak.get()).isEqualTo(3);
  }

  @Test
  void inactiveItemsAreFifoAndNeverOvertaken() {
    Workqueue wq = sys.workqueue("fifo").maxActive(1).build();
    CountDownLatch gate = new CountDownLatch(1);
    List<Integer> order = Collections.synchronizedList(new ArrayList<>());
    wq.queueWorkOn(0, new Work(() -> QueueWorkTest.awaitQuietly(gate)));
    for (int i = 0; i < 5; i++) {
      int id = i;
      wq.queueWorkOn(0, new Work(() -> order.add(id)));
    }
    // Raising the limit while items wait activates them in order; new items queue behind.
    wq.setMaxActive(3);
    for (int i = 5; i < 10; i++) {
      int id = i;
      wq.queueWorkOn(0, new Work(() -> order.add(id)));
    }
    gate.countDown();
    wq.flush();
    assertThat(order).hasSize(10);
    assertThat(order.subList(0, 2)).containsExactlyInAnyOrder(0, 1); // activated by the raise
    assertThat(order.indexOf(9)).isGreaterThan(order.indexOf(4));
  }

  @Test
  void raisingMaxActive_activatesWaitingItemsAtOnce() {
    Workqueue wq = sys.workqueue("raise").maxActive(1).build();
    CountDownLatch gate = new CountDownLatch(1);
    Concurrency c = new Concurrency();
    for (int i = 0; i < 5; i++) {
      wq.queueWorkOn(1, new Work(() -> {
        c.enter();
        QueueWorkTest.awaitQuietly(gate);
        c.exit();
      }));
    }
    await("one running", () -> c.now.get() == 1);
    wq.setMaxActive(5);
    await("all five running", () -> c.now.get() == 5);
    gate.countDown();
    wq.flush();
    assertThat(wq.maxActive()).isEqualTo(5);
  }

  @Test
  void unbound_raisingMaxActive_fillsAcrossPwqs() {
    Workqueue wq = sys.workqueue("ub_raise").unbound().maxActive(1).build();
    wq.setMinActive(1);
    CountDownLatch gate = new CountDownLatch(1);
    Concurrency c = new Concurrency();
    for (int i = 0; i < 6; i++) {
      wq.queueWorkOn(i % 2, new Work(() -> {
        c.enter();
        QueueWorkTest.awaitQuietly(gate);
        c.exit();
      }));
    }
    await("one running", () -> c.now.get() == 1);
    wq.setMaxActive(4);
    await("four running", () -> c.now.get() == 4);
    gate.countDown();
    wq.flush();
    assertThat(c.peak.get()).isEqualTo(4);
  }

  /**
   * Stress of the node nr_active hand-off: many producers, a small unbound limit; every item
   * must complete (a lost hand-off stalls the flush).
   */
  @Test
  void unboundNodeLimitNeverStalls() throws Exception {
    // One node, four caches: four pools share the node's active count.
    try (WorkqueueSystem s = WorkqueueSystem.builder().topology(Topology.of(4, 1, 1, 4)).build()) {
      Workqueue wq = s.workqueue("nna").unbound().maxActive(2).build();
      wq.applyAttrs(WorkqueueAttrs.defaults().withAffinityScope(AffinityScope.CPU));
      wq.setMinActive(1);
      AtomicInteger done = new AtomicInteger();
      Concurrency c = new Concurrency();
      List<Thread> producers = new ArrayList<>();
      for (int p = 0; p < 4; p++) {
        producers.add(new Thread(() -> {
          for (int i = 0; i < 5000; i++) {
            wq.queueWorkOn(ThreadLocalRandom.current().nextInt(4), new Work(() -> {
              c.enter();
              done.incrementAndGet();
              c.exit();
            }));
          }
        }));
      }
      producers.forEach(Thread::start);
      for (Thread t : producers) {
        t.join();
      }
      wq.flush();
      assertThat(done.get()).isEqualTo(20_000);
      assertThat(c.peak.get()).isLessThanOrEqualTo(2);
    }
  }

  /**
   * Two pwqs waiting on one node's limit take turns (the pending list rotates): a pwq that
   * registers while another keeps the only slot busy is served within two retirements. Guards
   * the retiring pwq's direct slot hand-off, which is allowed only while it is the sole waiter.
   */
  @Test
  void unbound_pwqsWaitingOnTheNodeLimit_takeTurns() {
    // One node of two caches (CPUs 0-1, 2-3): two pools, two pwqs sharing the node's limit.
    try (WorkqueueSystem s = WorkqueueSystem.builder().topology(Topology.of(4, 1, 2, 2)).build()) {
      Workqueue wq = s.workqueue("turns").unbound().maxActive(1).build();
      wq.setMinActive(1);
      List<String> order = Collections.synchronizedList(new ArrayList<>());
      CountDownLatch gate = new CountDownLatch(1);
      CountDownLatch started = new CountDownLatch(1);
      wq.queueWorkOn(0, new Work(() -> {
        started.countDown();
        QueueWorkTest.awaitQuietly(gate);
        order.add("a0");
      }));
      QueueWorkTest.awaitQuietly(started);
      for (int i = 1; i <= 8; i++) {
        String name = "a" + i;
        wq.queueWorkOn(1, new Work(() -> order.add(name))); // same pod as CPU 0
      }
      wq.queueWorkOn(3, new Work(() -> order.add("b"))); // the other pod's pwq
      int pending = wq.nodeNrActive(0).pendingCount();
      gate.countDown();
      wq.flush();
      assertThat(pending).as("both pwqs wait").isEqualTo(2);
      assertThat(order).hasSize(10);
      assertThat(order.indexOf("b")).as("b's turn in %s", order).isLessThanOrEqualTo(2);
    }
  }

  @Test
  void fourNodes_eachMayRunItsMinActive() {
    // Four nodes of one CPU: max_active 2 gives each node ceil(2/4) = 1, so four can run at
    // once: the documented "approximately system-wide" of Linux 6.9+.
    try (WorkqueueSystem s = WorkqueueSystem.builder().topology(Topology.of(4, 1, 1, 1)).build()) {
      assertThat(s.topology().nodes()).isEqualTo(4);
      Workqueue wq = s.workqueue("nodes4").unbound().maxActive(2).build();
      wq.applyAttrs(WorkqueueAttrs.defaults().withAffinityScope(AffinityScope.NUMA));
      wq.setMinActive(1);
      for (int node = 0; node < 4; node++) {
        assertThat(wq.nodeNrActive(node).max).isEqualTo(1);
      }
      CountDownLatch four = new CountDownLatch(4);
      for (int cpu = 0; cpu < 4; cpu++) {
        wq.queueWorkOn(cpu, new Work(() -> {
          four.countDown();
          QueueWorkTest.awaitQuietly(four); // all four must be running together
        }));
      }
      wq.flush();
    }
  }

  @Test
  void perNodeSplit_withMinActiveFloor() {
    // Two nodes of two CPUs: max_active 4 is split 2 + 2, but min_active (4) lifts each node.
    try (WorkqueueSystem s = WorkqueueSystem.builder().topology(Topology.of(4, 1, 1, 2)).build()) {
      Workqueue wq = s.workqueue("split").unbound().maxActive(4).build();
      assertThat(wq.nodeNrActive(0).max).isEqualTo(4);
      assertThat(wq.nodeNrActive(1).max).isEqualTo(4);
      assertThat(wq.nodeNrActive(-1).max).isEqualTo(4);
      wq.setMinActive(1);
      assertThat(wq.nodeNrActive(0).max).isEqualTo(2);
      assertThat(wq.nodeNrActive(1).max).isEqualTo(2);
      wq.setMaxActive(3); // ceil(3 * 2 / 4) = 2 per node
      assertThat(wq.nodeNrActive(0).max).isEqualTo(2);
      // With NUMA scope each node's pool counts against its own node entry.
      wq.applyAttrs(WorkqueueAttrs.defaults().withAffinityScope(AffinityScope.NUMA));
      Concurrency c = new Concurrency();
      for (int i = 0; i < 10; i++) {
        wq.queueWorkOn(0, new Work(() -> {
          c.enter();
          TestSupport.plainSleep(10);
          c.exit();
        }));
      }
      wq.flush();
      assertThat(c.peak.get()).isEqualTo(2);
    }
  }

  @Test
  void maxActiveClampsAndDefaults() {
    assertThat(sys.workqueue("big").maxActive(1000).build().maxActive())
        .isEqualTo(Workqueue.WQ_MAX_ACTIVE);
    assertThat(sys.workqueue("dfl").build().maxActive()).isEqualTo(Workqueue.WQ_DFL_ACTIVE);
    Workqueue wq = sys.workqueue("set").build();
    wq.setMaxActive(0);
    assertThat(wq.maxActive()).isEqualTo(Workqueue.WQ_DFL_ACTIVE);
    wq.setMaxActive(4096);
    assertThat(wq.maxActive()).isEqualTo(Workqueue.WQ_MAX_ACTIVE);
    assertThat(sys.systemUnbound().maxActive()).isEqualTo(Workqueue.WQ_MAX_ACTIVE);
  }
}
