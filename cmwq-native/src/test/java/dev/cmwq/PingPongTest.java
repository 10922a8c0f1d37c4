package dev.cmwq;

import static dev.cmwq.TestSupport.LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * How a pool worker's idle wait treats a queuer on its own CPU ({@code Worker.wakeUp},
 * {@code Worker.idleWait}). Needs pinned workers and pinned test threads, hence this module.
 */
class PingPongTest {

  /** Body of a test thread. */
  interface PinnedBody {
    void run() throws Exception;
  }

  /** Starts {@code body} on a thread pinned to logical CPU {@code cpu}. */
  static Thread pinned(Topology topo, int cpu, AtomicReference<Throwable> failure,
      PinnedBody body) {
    Thread t = new Thread(() -> {
      try {
        assertThat(OsSupport.OS.setCurrentThreadAffinity(CpuMask.of(topo.osCpuId(cpu)))).isTrue();
        body.run();
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      }
    }, "pinned-" + cpu);
    t.start();
    return t;
  }

  static <T> T underLock(WorkerPool pool, java.util.function.Supplier<T> read) {
    pool.lock.lock();
    try {
      return read.get();
    } finally {
      pool.lock.unlock();
    }
  }

  @Test
  void anUnparkFromTheWorkersOwnCpu_isTold_andOneFromAnotherCpuIsNot() throws Exception {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().idleSpin(Duration.ZERO).build()) {
      assumeTrue(sys.cpus() >= 2, "needs two CPUs");
      WorkerPool pool = sys.cpuPool(0, false);
      AtomicReference<Worker> ranOn = new AtomicReference<>();
      Work w = new Work(() -> ranOn.set(Worker.current()));
      sys.system().queueWorkOn(0, w);
      w.flush();
      for (int from : new int[] {0, 1, 0, 1}) {
        TestSupport.await("every worker of the pool parks", () -> underLock(pool,
            () -> pool.workers.stream().allMatch(x -> LockSupport.getBlocker(x.thread) == x)));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        pinned(sys.topology(), from, failure, () -> {
          sys.system().queueWorkOn(0, w);
          w.flush();
        }).join(LONG.toMillis());
        assertThat(failure.get()).isNull();
        Worker woken = ranOn.get(); // every worker was parked: the one that ran it was unparked
        assertThat(underLock(pool, () -> woken.wokenFromOwnCpu)).as("woken from CPU %d", from)
            .isEqualTo(from == 0);
      }
    }
  }

  @Test
  void aQueuerOnTheWorkersCpuThatOutpacesItsWakeUps_isBatched_andNothingIsLost()
      throws Exception {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().build()) { // default idle poll
      assumeTrue(sys.cpus() >= 2, "needs two CPUs");
      Topology topo = sys.topology();
      Workqueue wq = sys.system();
      WorkerPool pool = sys.cpuPool(0, false);
      // A: on CPU 0, queues onto CPU 0 and yields after each item, so the woken worker runs it
      // at once and parks, and A queues the next one microseconds later: quick turns. B: on
      // CPU 1, queues its own items onto CPU 0 meanwhile and waits for each (a lost wake-up
      // hangs it), which makes wake-ups from another CPU reach the worker in either mode.
      int n = 64;
      AtomicInteger[] queued = new AtomicInteger[n];
      AtomicInteger[] runs = new AtomicInteger[n];
      AtomicReferenceArray<Work> items = new AtomicReferenceArray<>(n);
      for (int i = 0; i < n; i++) {
        AtomicInteger r = runs[i] = new AtomicInteger();
        queued[i] = new AtomicInteger();
        items.set(i, new Work(r::incrementAndGet));
      }
      AtomicReference<Throwable> failure = new AtomicReference<>();
      CountDownLatch bDone = new CountDownLatch(1);
      long deadline = System.nanoTime() + LONG.toNanos();
      Thread a = pinned(topo, 0, failure, () -> {
        boolean yielded = false;
        for (int i = 0; bDone.getCount() > 0 || !yielded; i++) {
          if ((i & 63) == 0) {
            yielded = yieldHits(pool) > 0;
          }
          if (System.nanoTime() - deadline > 0) {
            throw new AssertionError("the worker never yielded to its queuer");
          }
          if (wq.queueWorkOn(0, items.get(i % n))) {
            queued[i % n].incrementAndGet();
          }
          Thread.yield();
        }
      });
      Thread b = pinned(topo, 1, failure, () -> {
        try {
          for (int i = 0; i < 2_000; i++) {
            CountDownLatch ran = new CountDownLatch(1);
            wq.queueWorkOn(0, new Work(ran::countDown));
            if (!ran.await(LONG.toSeconds(), TimeUnit.SECONDS)) {
              throw new AssertionError("item " + i + " from CPU 1 never ran: a lost wake-up");
            }
          }
        } finally {
          bDone.countDown();
        }
      });
      b.join(2 * LONG.toMillis());
      a.join(2 * LONG.toMillis());
      assertThat(failure.get()).isNull();
      assertThat(yieldHits(pool)).isPositive();
      for (int i = 0; i < n; i++) {
        items.get(i).flush();
        assertThat(runs[i].get()).as("runs of item %d", i).isEqualTo(queued[i].get());
      }
    }
  }

  static long yieldHits(WorkerPool pool) {
    return underLock(pool, () -> pool.nrYieldHits);
  }
}
