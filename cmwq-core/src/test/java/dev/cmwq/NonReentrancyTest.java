package dev.cmwq;

import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 item 2: an item never executes on two threads at once, across CPUs, pools and
 * attribute changes. A naive executor fails these: requeueing a running item from another CPU
 * would start it on the other CPU's worker right away.
 */
class NonReentrancyTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    TestSupport.closeAndCheck(sys);
  }

  /** An item that notices if it ever runs twice at once. */
  static final class Guarded extends Work {
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger overlaps = new AtomicInteger();
    final AtomicInteger runs = new AtomicInteger();

    Guarded(long spinMicros) {
      super(w -> ((Guarded) w).body(spinMicros));
    }

    private void body(long spinMicros) {
      if (running.incrementAndGet() != 1) {
        overlaps.incrementAndGet();
      }
      long end = System.nanoTime() + spinMicros * 1000;
      while (System.nanoTime() < end) {
        Thread.onSpinWait();
      }
      runs.incrementAndGet();
      running.decrementAndGet();
    }
  }

  /**
   * Producers keep requeueing {@code work} on random CPUs until it has run {@code minRuns}
   * times; returns how many queue calls succeeded.
   */
  static int hammer(Workqueue wq, Guarded work, int cpus, int minRuns) throws InterruptedException {
    AtomicInteger queued = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> producers = new ArrayList<>();
    for (int p = 0; p < 3; p++) {
      producers.add(new Thread(() -> {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        while (!stop.get()) {
          if (wq.queueWorkOn(rnd.nextInt(cpus), work)) {
            queued.incrementAndGet();
          }
          Thread.onSpinWait();
        }
      }));
    }
    producers.forEach(Thread::start);
    await(minRuns + " runs", () -> work.runs.get() >= minRuns);
    stop.set(true);
    for (Thread t : producers) {
      t.join();
    }
    wq.flush();
    return queued.get();
  }

  @Test
  void requeuedFromOtherCpusWhileRunning_neverRunsConcurrently() throws Exception {
    Workqueue wq = sys.workqueue("nr").build();
    Guarded work = new Guarded(100);
    int queued = hammer(wq, work, 2, 500);
    assertThat(work.overlaps.get()).isZero();
    assertThat(work.runs.get()).isEqualTo(queued);
  }

  @Test
  void unboundWorkqueue_requeueAcrossPods_neverRunsConcurrently() throws Exception {
    // Every CPU its own pod: each CPU slot is a different pool, so routing must bring a
    // running item back to the pool it runs in.
    try (WorkqueueSystem s = WorkqueueSystem.builder().topology(Topology.of(4, 1, 1, 4)).build()) {
      Workqueue wq = s.workqueue("nr_unbound").unbound().build();
      wq.applyAttrs(WorkqueueAttrs.defaults().withAffinityScope(AffinityScope.CPU));
      assertThat(s.unboundPools()).hasSizeGreaterThanOrEqualTo(4);
      Guarded work = new Guarded(100);
      int queued = hammer(wq, work, 4, 500);
      assertThat(work.overlaps.get()).isZero();
      assertThat(work.runs.get()).isEqualTo(queued);
    }
  }

  @Test
  void acrossApplyAttrs_aSelfRequeueingItemStaysSerialized() throws Exception {
    Workqueue wq = sys.workqueue("nr_attrs").unbound().build();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger running = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    AtomicInteger runs = new AtomicInteger();
    Work work = new Work(w -> {
      if (running.incrementAndGet() != 1) {
        overlaps.incrementAndGet();
      }
      runs.incrementAndGet();
      running.decrementAndGet();
      if (!stop.get()) {
        wq.queueWork(w);
      }
    });
    wq.queueWork(work);
    Thread kicker = new Thread(() -> {
      while (!stop.get()) {
        wq.queueWorkOn(ThreadLocalRandom.current().nextInt(2), work);
      }
    });
    kicker.start();
    for (int i = 0; i < 40 || runs.get() < 300; i++) {
      wq.applyAttrs(WorkqueueAttrs.defaults().withNice(i % 2 == 0 ? 5 : 0));
      if (i > 1_000_000) {
        throw new AssertionError("the item stopped running: " + runs.get());
      }
    }
    stop.set(true);
    kicker.join();
    work.cancelSync();
    assertThat(overlaps.get()).isZero();
    assertThat(runs.get()).isPositive();
  }

  @Test
  void sameItemOnTwoWorkqueues_isDetectedWhilePending() {
    Workqueue a = sys.workqueue("a").ordered().build();
    Workqueue b = sys.workqueue("b").build();
    java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
    a.queueWork(new Work(() -> QueueWorkTest.awaitQuietly(gate)));
    Work work = new Work(() -> { });
    assertThat(a.queueWork(work)).isTrue();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.queueWork(work))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("pending on workqueue a");
    gate.countDown();
    a.flush();
    assertThat(b.queueWork(work)).isTrue(); // once it ran, another workqueue may take it
    b.flush();
    await("idle", () -> !work.isPending());
  }
}
