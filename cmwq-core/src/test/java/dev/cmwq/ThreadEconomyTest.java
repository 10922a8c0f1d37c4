package dev.cmwq;

import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * SPEC §4 layer 3: never more than the needed workers, thread count independent of the number
 * of workqueues, surplus idle workers culled keeping the kernel's ratio.
 */
class ThreadEconomyTest {

  static int workers(WorkqueueSystem sys) {
    int n = 0;
    List<WorkerPool> pools = new ArrayList<>(sys.cpuPoolList());
    pools.addAll(sys.unboundPools());
    for (WorkerPool p : pools) {
      p.lock.lock();
      try {
        n += p.nrWorkers;
      } finally {
        p.lock.unlock();
      }
    }
    return n;
  }

  /** One executor per queue would need 10 000 threads here. */
  @Test
  void tenThousandWorkqueues_oneItemEach_threadsBoundedByCpus() {
    WorkqueueSystem sys = TestSupport.newSystem();
    try {
      int n = 10_000;
      List<Workqueue> wqs = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        Workqueue.Builder b = sys.workqueue("wq" + i);
        switch (i % 3) {
          case 0 -> b.unbound();
          case 1 -> b.ordered();
          default -> { }
        }
        wqs.add(b.build());
      }
      AtomicInteger runs = new AtomicInteger();
      for (Workqueue wq : wqs) {
        wq.queueWork(new Work(runs::incrementAndGet));
      }
      for (Workqueue wq : wqs) {
        wq.flush();
      }
      assertThat(runs.get()).isEqualTo(n);
      // 2 CPUs x 2 per-CPU pools plus the one shared unbound pool: a handful each.
      assertThat(sys.unboundPools()).hasSize(1);
      assertThat(workers(sys)).as("worker threads for 10 000 workqueues").isLessThanOrEqualTo(16);
      for (Workqueue wq : wqs) {
        wq.destroy();
      }
      assertThat(TestSupport.invariantViolations(sys)).isEmpty();
    } finally {
      sys.close();
    }
  }

  /**
   * Blocked items each hold a worker (that is the point of concurrency management), and once
   * idle, surplus workers die after the idle timeout: at most 2 idle plus one per 4 busy stay.
   */
  @Test
  void surplusIdleWorkersAreCulled() {
    WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1)
        .idleWorkerTimeout(Duration.ofMillis(200)).build();
    try {
      Workqueue wq = sys.workqueue("burst").build();
      int blockers = 12;
      CountDownLatch allRunning = new CountDownLatch(blockers);
      CountDownLatch release = new CountDownLatch(1);
      for (int i = 0; i < blockers; i++) {
        wq.queueWorkOn(0, new Work(() -> {
          allRunning.countDown();
          QueueWorkTest.awaitQuietly(release); // blocks: each needs its own worker
        }));
      }
      QueueWorkTest.awaitQuietly(allRunning);
      WorkerPool pool = sys.cpuPool(0, false);
      assertThat(workers(sys)).isGreaterThanOrEqualTo(blockers);
      release.countDown();
      wq.flush();
      await("culled to two idle workers", () -> {
        pool.lock.lock();
        try {
          return pool.nrWorkers == 2 && pool.nrIdle == 2;
        } finally {
          pool.lock.unlock();
        }
      });
      // Culled threads exit.
      await("culled threads gone", () -> TestSupport.threads("kworker/0:").size() <= 2 + 2
          || sys.cpuPool(0, false).workers.size() == 2);
      // The pool still works afterwards.
      AtomicInteger runs = new AtomicInteger();
      wq.queueWorkOn(0, new Work(runs::incrementAndGet));
      wq.flush();
      assertThat(runs.get()).isEqualTo(1);
    } finally {
      TestSupport.closeAndCheck(sys);
    }
  }

  @Test
  void tooManyWorkers_keepsTheKernelRatio() {
    WorkqueueSystem sys = TestSupport.newSystem();
    try {
      WorkerPool p = sys.cpuPool(0, false);
      p.lock.lock();
      try {
        int savedWorkers = p.nrWorkers;
        int savedIdle = p.nrIdle;
        // idle > 2 and (idle - 2) * 4 >= busy
        p.nrWorkers = 3;
        p.nrIdle = 3;
        assertThat(p.tooManyWorkers()).isTrue();
        p.nrIdle = 2;
        assertThat(p.tooManyWorkers()).isFalse();
        p.nrWorkers = 12; // 9 busy, 3 idle: (3-2)*4 = 4 < 9
        p.nrIdle = 3;
        assertThat(p.tooManyWorkers()).isFalse();
        p.nrWorkers = 7; // 4 busy, 3 idle: 4 >= 4
        assertThat(p.tooManyWorkers()).isTrue();
        p.nrWorkers = savedWorkers;
        p.nrIdle = savedIdle;
      } finally {
        p.lock.unlock();
      }
    } finally {
      sys.close();
    }
  }
}
