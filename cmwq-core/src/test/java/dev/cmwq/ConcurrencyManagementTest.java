package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 item 11 and §4: the "Example Execution Scenarios" of {@code workqueue.rst}
 * (reference §9.1), time scaled by 10: w0 burns 50 ms, sleeps 100 ms, burns 50 ms; w1 and w2
 * burn 50 ms and sleep 100 ms; all queued at once on one CPU's pool. Each scenario runs with
 * the sleep going through {@link Workqueues#managedBlock} (the exact hook) and as a plain
 * {@link Thread#sleep} (seen by the sampling tick).
 *
 * <p>A single-thread executor (the pre-cmwq S0) takes 500 ms and never overlaps items; a
 * multi-thread executor starts w1 and w2 at once, while w0 is still burning. Both fail here.
 */
class ConcurrencyManagementTest {
  static final long BURN = 50;
  static final long SLEEP = 100;
  static final long S0_MAKESPAN = 500;

  enum SleepKind { MANAGED_BLOCK, PLAIN_SLEEP }

  /** Timestamps (ms since queueing) of one item. */
  static final class Item {
    volatile long start = -1;
    volatile long sleep = -1;
    volatile long end = -1;
    volatile String thread;
  }

  /** Runs the scenario; {@code maxActive} for q0/q1, q1 CPU-intensive for S3. */
  static Item[] scenario(SleepKind kind, int maxActive, boolean s3) {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1)
        .cpuIntensiveThreshold(Duration.ZERO).build()) {
      // The managed variant must work through the exact hook alone.
      sys.tick.samplingEnabled = kind == SleepKind.PLAIN_SLEEP;
      Workqueue q0 = sys.workqueue("q0").maxActive(maxActive).build();
      Workqueue q1 = s3 ? sys.workqueue("q1").cpuIntensive().maxActive(maxActive).build() : q0;
      // The doc's tables ignore worker creation: pre-warm the pool so that idle workers exist
      // (on a loaded machine a new thread can take tens of milliseconds to get a CPU).
      for (int i = 0; i < 5; i++) {
        q0.queueWorkOn(0, new Work(() -> TestSupport.managedSleep(20)));
      }
      q0.flush();
      Item[] items = {new Item(), new Item(), new Item()};
      long t0 = System.nanoTime();
      Runnable sleep = () -> {
        if (kind == SleepKind.MANAGED_BLOCK) {
          TestSupport.managedSleep(SLEEP);
        } else {
          TestSupport.plainSleep(SLEEP);
        }
      };
      Work w0 = new Work(() -> {
        Item it = items[0];
        it.thread = Thread.currentThread().getName();
        it.start = ms(t0);
        TestSupport.burn(BURN);
        it.sleep = ms(t0);
        sleep.run();
        TestSupport.burn(BURN);
        it.end = ms(t0);
      });
      Work[] others = new Work[2];
      for (int i = 1; i <= 2; i++) {
        Item it = items[i];
        others[i - 1] = new Work(() -> {
          it.thread = Thread.currentThread().getName();
          it.start = ms(t0);
          TestSupport.burn(BURN);
          it.sleep = ms(t0);
          sleep.run();
          it.end = ms(t0);
        });
      }
      q0.queueWorkOn(0, w0);
      q1.queueWorkOn(0, others[0]);
      q1.queueWorkOn(0, others[1]);
      q0.flush();
      q1.flush();
      assertThat(TestSupport.invariantViolations(sys)).isEmpty();
      // The timeline goes to the test's output file for the record.
      System.out.println((s3 ? "S3" : maxActive == 2 ? "S2" : "S1") + " " + kind + " makespan="
          + makespan(items) + "ms" + describe(items));
      return items;
    }
  }

  static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  static long makespan(Item[] items) {
    long m = 0;
    for (Item it : items) {
      m = Math.max(m, it.end);
    }
    return m;
  }

  static String describe(Item[] items) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < items.length; i++) {
      sb.append(String.format(" w%d[start=%d sleep=%d end=%d %s]", i, items[i].start,
          items[i].sleep, items[i].end, items[i].thread));
    }
    return sb.toString();
  }

  /**
   * S1, max_active >= 3: w1 starts when w0 sleeps, w2 when w1 sleeps; blocking items overlap;
   * makespan 250 ms in the ideal schedule, far below S0's 500 ms.
   */
  @ParameterizedTest
  @EnumSource(SleepKind.class)
  void s1_blockingItemsOverlap_oneRunningAtATime(SleepKind kind) {
    Item[] it = scenario(kind, 0, false);
    String d = describe(it);
    assertThat(it[1].start).as("w1 waits for w0 to sleep" + d).isGreaterThanOrEqualTo(it[0].sleep);
    assertThat(it[2].start).as("w2 waits for w1 to sleep" + d).isGreaterThanOrEqualTo(it[1].sleep);
    assertThat(it[1].start).as("w1 starts while w0 sleeps" + d).isLessThan(it[0].end);
    assertThat(it[2].start).as("w2 starts while w0 sleeps" + d).isLessThan(it[0].end);
    assertThat(it[1].start - it[0].sleep).as("wake-up latency" + d).isLessThan(40);
    assertThat(makespan(it)).as("makespan" + d).isLessThan(S0_MAKESPAN * 8 / 10);
    Set<String> workers = new HashSet<>();
    for (Item i : it) {
      workers.add(i.thread);
    }
    assertThat(workers).as("three workers used" + d).hasSize(3);
  }

  /** S2, max_active 2: w2 stays inactive until w0 completes; w1 still overlaps w0's sleep. */
  @ParameterizedTest
  @EnumSource(SleepKind.class)
  void s2_maxActiveTwo_thirdItemWaitsForACompletion(SleepKind kind) {
    Item[] it = scenario(kind, 2, false);
    String d = describe(it);
    assertThat(it[1].start).as("w1 waits for w0 to sleep" + d).isGreaterThanOrEqualTo(it[0].sleep);
    assertThat(it[1].start).as("w1 overlaps w0" + d).isLessThan(it[0].end);
    // w2 is inactive until a slot frees: w0 and w1 both complete at 200 ms in the doc's
    // table; under load either may finish first.
    assertThat(it[2].start).as("w2 inactive until the first completion" + d)
        .isGreaterThanOrEqualTo(Math.min(it[0].end, it[1].end));
    assertThat(it[2].start).as("w2 not before both w0 and w1 have slept" + d)
        .isGreaterThan(it[1].sleep);
    assertThat(makespan(it)).as("makespan" + d).isLessThan(S0_MAKESPAN);
  }

  /**
   * S3, w1 and w2 CPU intensive: both start when w0 sleeps (CPU-intensive items still wait for
   * the running item at start, but do not count once started, so the pool starts the next).
   */
  @ParameterizedTest
  @EnumSource(SleepKind.class)
  void s3_cpuIntensiveItemsStartTogether(SleepKind kind) {
    Item[] it = scenario(kind, 0, true);
    String d = describe(it);
    assertThat(it[1].start).as("w1 waits for w0 to sleep" + d).isGreaterThanOrEqualTo(it[0].sleep);
    assertThat(it[2].start).as("w2 waits for w0 to sleep" + d).isGreaterThanOrEqualTo(it[0].sleep);
    assertThat(it[2].start).as("w2 starts while w1 burns" + d).isLessThan(it[1].sleep);
    assertThat(makespan(it)).as("makespan" + d).isLessThan(S0_MAKESPAN * 8 / 10);
  }

  /**
   * Queues a hog burning {@code burnMillis} on CPU 0, then a small item; returns
   * {nanoTime when the small item started, nanoTime when the hog ended} and the stats.
   */
  static long[] hogThenOther(WorkqueueSystem sys, long burnMillis, WorkqueueStats[] stats) {
    Workqueue wq = sys.workqueue("hog").build();
    AtomicLong hogEnd = new AtomicLong();
    AtomicLong otherStart = new AtomicLong();
    CountDownLatch hogStarted = new CountDownLatch(1);
    wq.queueWorkOn(0, new Work(() -> {
      hogStarted.countDown();
      TestSupport.burn(burnMillis);
      hogEnd.set(System.nanoTime());
    }));
    QueueWorkTest.awaitQuietly(hogStarted);
    wq.queueWorkOn(0, new Work(() -> otherStart.set(System.nanoTime())));
    wq.flush();
    stats[0] = wq.stats();
    return new long[] {otherStart.get(), hogEnd.get()};
  }

  /** {@code wq_worker_tick}: an item burning past the threshold stops blocking the pool. */
  @Test
  void cpuHog_isMarkedCpuIntensive_andTheNextItemStarts() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1)
        .cpuIntensiveThreshold(Duration.ofMillis(10)).build()) {
      WorkqueueStats[] stats = new WorkqueueStats[1];
      long[] t = hogThenOther(sys, 300, stats);
      assertThat(t[0]).as("the second item started before the hog ended").isLessThan(t[1]);
      assertThat(stats[0].cpuIntensive()).isEqualTo(1);
      assertThat(stats[0].cmWakeups()).isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void withoutTheThreshold_aHogKeepsThePoolToItself() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1)
        .cpuIntensiveThreshold(Duration.ZERO).build()) {
      WorkqueueStats[] stats = new WorkqueueStats[1];
      long[] t = hogThenOther(sys, 100, stats);
      assertThat(t[0]).isGreaterThanOrEqualTo(t[1]);
      assertThat(stats[0].cpuIntensive()).isZero();
    }
  }

  /**
   * Waiting for one of the engine's mutexes is a sleep for concurrency management (a kernel
   * worker blocking on {@code wq->mutex} leaves nr_running). With sampling off, only that hook
   * can let the second item start.
   */
  @Test
  void workerBlockedOnAnEngineMutex_countsAsSleeping() throws Exception {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1)
        .cpuIntensiveThreshold(Duration.ZERO).build()) {
      sys.tick.samplingEnabled = false;
      Workqueue wq = sys.workqueue("mutex").build();
      CountDownLatch secondRan = new CountDownLatch(1);
      wq.mutex.lock();
      try {
        wq.queueWorkOn(0, new Work(wq::stats)); // blocks on wq.mutex
        TestSupport.await("first item waiting for the mutex", wq.mutex::hasQueuedThreads);
        // Only if the waiting worker left nr_running does this kick another worker.
        wq.queueWorkOn(0, new Work(secondRan::countDown));
        QueueWorkTest.awaitQuietly(secondRan);
      } finally {
        wq.mutex.unlock();
      }
      wq.flush();
    }
  }

  /** The tick parks when nothing waits: an idle system costs no wake-ups. */
  @Test
  void plainSleepIsDetectedByTheTick_andTheTickParksWhenIdle() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1)
        .cpuIntensiveThreshold(Duration.ZERO).build()) {
      Workqueue wq = sys.workqueue("tick").build();
      CountDownLatch both = new CountDownLatch(2);
      for (int i = 0; i < 2; i++) {
        wq.queueWorkOn(0, new Work(() -> {
          both.countDown();
          QueueWorkTest.awaitQuietly(both); // LockSupport.park inside: WAITING for the JVM
        }));
      }
      wq.flush(); // would hang if the first item's block went unnoticed
      assertThat(wq.stats().cmWakeups()).isGreaterThanOrEqualTo(1);
      TestSupport.await("tick parked", () -> sys.tick.isParked());
      long rounds = sys.tick.rounds.get();
      TestSupport.plainSleep(200);
      assertThat(sys.tick.rounds.get() - rounds).as("tick rounds while idle").isLessThanOrEqualTo(1);
    }
  }
}
