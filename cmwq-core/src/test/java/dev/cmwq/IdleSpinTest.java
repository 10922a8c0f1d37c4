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
import org.junit.jupiter.api.Test;

/**
 * The idle poll of pool workers ({@code Worker.idleWait}): a worker that has just run out of
 * items polls for a while before parking, so that an item queued soon after costs no unpark.
 */
class IdleSpinTest {
  private static final int ROUNDS = 200;

  /** Queue-and-flush round trips on {@code cpu}'s pool; returns the unparks they caused. */
  private static long unparksOfRoundTrips(WorkqueueSystem sys, Workqueue wq, int cpu) {
    WorkerPool pool = sys.cpuPool(cpu, (wq.flags & Workqueue.WQ_HIGHPRI) != 0);
    AtomicInteger runs = new AtomicInteger();
    Work w = new Work(runs::incrementAndGet);
    wq.queueWorkOn(cpu, w); // the first item wakes the worker from its long sleep
    w.flush();
    long before = unparks(pool);
    for (int i = 0; i < ROUNDS; i++) {
      assertThat(wq.queueWorkOn(cpu, w)).isTrue();
      w.flush();
    }
    assertThat(runs.get()).isEqualTo(ROUNDS + 1);
    return unparks(pool) - before;
  }

  private static long unparks(WorkerPool pool) {
    pool.lock.lock();
    try {
      return pool.nrUnparks;
    } finally {
      pool.lock.unlock();
    }
  }

  @Test
  void itemsQueuedWhileTheWorkerPolls_costNoUnpark() {
    // A poll far longer than a round trip: the worker should hardly ever park in between.
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2)
        .idleSpin(Duration.ofMillis(10)).build()) {
      long unparks = unparksOfRoundTrips(sys, sys.system(), 0);
      assertThat(unparks).as("unparks in %d round trips", ROUNDS).isLessThan(ROUNDS / 4);
    }
  }

  @Test
  void withoutThePoll_everyRoundTripUnparks() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).idleSpin(Duration.ZERO).build()) {
      long unparks = unparksOfRoundTrips(sys, sys.system(), 0);
      // Every item finds the worker parked, except when the flush returned before it parked.
      assertThat(unparks).as("unparks in %d round trips", ROUNDS).isGreaterThan(ROUNDS / 2);
    }
  }

  @Test
  void unboundPools_neverPoll() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2)
        .idleSpin(Duration.ofMillis(10)).build()) {
      Workqueue wq = sys.workqueue("unbound-rt").unbound().maxActive(1).build();
      AtomicInteger runs = new AtomicInteger();
      Work w = new Work(runs::incrementAndGet);
      wq.queueWork(w);
      w.flush();
      WorkerPool pool = w.getWorkPool();
      long start = unparks(pool);
      for (int i = 0; i < ROUNDS; i++) {
        wq.queueWork(w);
        w.flush();
      }
      assertThat(unparks(pool) - start).isGreaterThan(ROUNDS / 2);
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
  void idleSpin_rejectsNegativeAndTooLong() {
    assertThatThrownBy(() -> WorkqueueSystem.builder().idleSpin(Duration.ofNanos(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idleSpin");
    assertThatThrownBy(() -> WorkqueueSystem.builder().idleSpin(Duration.ofMillis(11)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("idleSpin").hasMessageContaining("10");
  }
}
