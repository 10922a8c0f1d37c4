package dev.cmwq;

import static dev.cmwq.TestSupport.LONG;
import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * The idle poll of pool workers ({@code Worker.idleWait}): a worker that has just run out of
 * items polls for a while before parking, so that an item queued soon after costs no unpark.
 */
class IdleSpinTest {
  private static final int ROUNDS = 200;

  /** The counters of {@code pool} that the round trips below move. */
  private record Counts(long unparks, long polls, long hits) {
    static Counts of(WorkerPool pool) {
      pool.lock.lock();
      try {
        return new Counts(pool.nrUnparks, pool.nrPolls, pool.nrPollHits);
      } finally {
        pool.lock.unlock();
      }
    }

    Counts minus(Counts o) {
      return new Counts(unparks - o.unparks, polls - o.polls, hits - o.hits);
    }
  }

  /**
   * {@link #ROUNDS} queue-and-flush round trips of one item on {@code wq} (CPU 0 if bound);
   * with {@code whilePolling}, each item is queued only once the worker that ran the previous
   * one polls (or has parked: the poll was missed, as a loaded machine may make it).
   */
  private static Counts roundTrips(Workqueue wq, boolean whilePolling) {
    AtomicInteger runs = new AtomicInteger();
    AtomicReference<Worker> ranOn = new AtomicReference<>();
    Work w = new Work(() -> {
      runs.incrementAndGet();
      ranOn.set(Worker.current());
    });
    boolean bound = (wq.flags & Workqueue.WQ_UNBOUND) == 0;
    Runnable queue = () -> assertThat(bound ? wq.queueWorkOn(0, w) : wq.queueWork(w)).isTrue();
    queue.run(); // the first item wakes the worker from its long sleep
    w.flush();
    WorkerPool pool = w.getWorkPool();
    Counts before = Counts.of(pool);
    for (int i = 0; i < ROUNDS; i++) {
      if (whilePolling) {
        Worker worker = ranOn.get();
        await("the worker polls or sleeps", () -> pollingOrParked(pool, worker));
      }
      queue.run();
      w.flush();
    }
    assertThat(runs.get()).isEqualTo(ROUNDS + 1);
    return Counts.of(pool).minus(before);
  }

  private static boolean pollingOrParked(WorkerPool pool, Worker worker) {
    pool.lock.lock();
    try {
      // Parked in idleWait, not merely WAITING: a worker that still owes the pool lock after
      // its item (held here) is WAITING too, and an item queued then needs no unpark.
      return worker.spinning || LockSupport.getBlocker(worker.thread) == worker;
    } finally {
      pool.lock.unlock();
    }
  }

  @Test
  void itemsQueuedWhileTheWorkerPolls_costNoUnpark() {
    // A poll far longer than the test's check (1 ms sleeps): most items come during it.
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2)
        .idleSpin(Duration.ofMillis(10)).build()) {
      Counts c = roundTrips(sys.system(), true);
      assertThat(c.hits()).as("polls that caught the next item, of %d", ROUNDS)
          .isGreaterThan(ROUNDS / 2);
      assertThat(c.unparks()).as("unparks in %d round trips", ROUNDS).isLessThan(ROUNDS / 2);
    }
  }

  @Test
  void withoutThePoll_workersParkAtOnce() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).idleSpin(Duration.ZERO).build()) {
      Counts c = roundTrips(sys.system(), true);
      assertThat(c.polls()).isZero();
      assertThat(c.unparks()).as("every item found the worker parked").isEqualTo(ROUNDS);
    }
  }

  @Test
  void unboundPools_neverPoll() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2)
        .idleSpin(Duration.ofMillis(10)).build()) {
      Workqueue wq = sys.workqueue("unbound-rt").unbound().maxActive(1).build();
      Counts c = roundTrips(wq, false);
      assertThat(c.polls()).isZero();
      assertThat(c.unparks()).isPositive();
      wq.destroy();
    }
  }

  @Test
  void aWorkerWhoseItemsComeRarely_stopsPolling() throws Exception {
    long max = TimeUnit.MILLISECONDS.toNanos(2);
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2)
        .idleSpin(Duration.ofNanos(max)).build()) {
      AtomicReference<Worker> ran = new AtomicReference<>();
      Work w = new Work(() -> ran.set(Worker.current()));
      for (int i = 0; i < 12; i++) {
        sys.system().queueWorkOn(0, w);
        w.flush();
        Thread.sleep(20); // ten times the poll: each poll misses and the worker parks long
      }
      Worker worker = ran.get();
      await("worker parked", () -> worker.thread.getState() == Thread.State.WAITING);
      assertThat(worker.idleSpin.limitNanos()).isLessThan(max / 8); // it stopped polling long
    }
  }

  @Test
  void queueingFromManyThreadsAcrossThePollToParkStep_losesNoWakeUp() throws Exception {
    // A poll of a few microseconds: the worker goes from polling to parked all the time while
    // four threads queue their own items onto the same pool and wait for each.
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2)
        .idleSpin(Duration.ofNanos(3_000)).build()) {
      Workqueue wq = sys.system();
      int threads = 4;
      int rounds = 3_000;
      CountDownLatch done = new CountDownLatch(threads);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      for (int t = 0; t < threads; t++) {
        Thread th = new Thread(() -> {
          try {
            for (int i = 0; i < rounds; i++) {
              CountDownLatch ran = new CountDownLatch(1);
              wq.queueWorkOn(0, new Work(ran::countDown));
              if (!ran.await(LONG.toSeconds(), TimeUnit.SECONDS)) {
                throw new AssertionError("item " + i + " never ran: a lost wake-up");
              }
              if ((i & 7) == 0) {
                Thread.sleep(0, 50_000); // sometimes let the worker reach park
              }
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          } finally {
            done.countDown();
          }
        });
        th.start();
      }
      assertThat(done.await(LONG.toSeconds() * 4, TimeUnit.SECONDS)).isTrue();
      assertThat(failure.get()).isNull();
    }
  }

  @Test
  void pollLength_halvesForLongOrUncatchableParks_andDoublesBackForShortOnes() {
    IdleSpin spin = new IdleSpin(64_000);
    assertThat(spin.limitNanos()).isEqualTo(64_000);
    spin.parked(1_000_000); // parked long: the poll was wasted
    assertThat(spin.limitNanos()).isEqualTo(32_000);
    spin.parked(Long.MAX_VALUE); // woken from the worker's own CPU: no poll could catch it
    assertThat(spin.limitNanos()).isEqualTo(16_000);
    for (int i = 0; i < 20; i++) {
      spin.parked(Long.MAX_VALUE);
    }
    assertThat(spin.limitNanos()).isEqualTo(IdleSpin.MIN_NANOS);
    spin.parked(50_000); // woken within twice the longest poll: a longer one would have caught it
    assertThat(spin.limitNanos()).isEqualTo(2 * IdleSpin.MIN_NANOS);
    for (int i = 0; i < 20; i++) {
      spin.caught();
    }
    assertThat(spin.limitNanos()).isEqualTo(64_000);
    assertThat(new IdleSpin(500).poll(() -> false)).isFalse(); // ends by itself
    assertThat(new IdleSpin(0).enabled()).isFalse();
  }

  @Test
  void yieldPoll_seesAWakeUpFromAnotherThread_andGivesUpAfterTheLongestPoll() throws Exception {
    IdleSpin spin = new IdleSpin(TimeUnit.MILLISECONDS.toNanos(5));
    spin.parked(Long.MAX_VALUE); // the adaptive length shrinks; a yield poll keeps the longest
    long t0 = System.nanoTime();
    assertThat(spin.yieldPoll(() -> false)).isFalse();
    assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(5));

    IdleSpin forever = new IdleSpin(IdleSpin.MIN_NANOS);
    AtomicInteger flag = new AtomicInteger();
    CountDownLatch polling = new CountDownLatch(1);
    AtomicReference<Boolean> caught = new AtomicReference<>();
    Thread poller = new Thread(() -> {
      polling.countDown();
      boolean hit = false;
      while (!hit) { // 1 µs bounds: poll again until the flag shows up
        hit = forever.yieldPoll(() -> flag.getOpaque() != 0);
      }
      caught.set(true);
    });
    poller.setDaemon(true); // a broken poll that never returns must not keep the JVM alive
    poller.start();
    polling.await();
    flag.setOpaque(1);
    poller.join(LONG.toMillis());
    assertThat(caught.get()).isTrue();
  }

  @Test
  void idleSpin_rejectsNegativeAndTooLong() {
    assertThatThrownBy(() -> WorkqueueSystem.builder().idleSpin(Duration.ofNanos(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idleSpin");
    assertThatThrownBy(() -> WorkqueueSystem.builder().idleSpin(Duration.ofMillis(11)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("idleSpin").hasMessageContaining("10");
  }
}
