package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The lock-order checker catches what it claims to, on the engine's real locks. */
class LockdepTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    sys.close();
  }

  /** Runs {@code r} and returns the reports it caused (removing them). */
  static List<String> reportsOf(Runnable r) {
    int from = Lockdep.violations().size();
    r.run();
    return Lockdep.takeViolationsFrom(from);
  }

  /**
   * The engine lock is its own synchronizer now, not a ReentrantLock: it must keep that lock's
   * rules — re-entry counted, release only by the holder, conditions that release and re-take
   * every hold, tryLock failing while another thread holds it.
   */
  @Test
  void engineLock_keepsReentrantLockRules() throws Exception {
    Lockdep.Lock lock = new Lockdep.Lock(Lockdep.LockClass.MAYDAY_LOCK, "test");
    lock.lock();
    // tryLock, not lock: a lock that lost re-entry fails here instead of hanging the test.
    reportsOf(() -> assertThat(lock.tryLock()).as("re-entry by the holder").isTrue());
    assertThat(lock.isHeldByCurrentThread()).isTrue();
    lock.unlock();
    assertThat(lock.isLocked()).as("one hold left").isTrue();
    assertThat(CompletableFuture.supplyAsync(lock::tryLock).get(30, TimeUnit.SECONDS))
        .as("another thread cannot take it").isFalse();
    assertThatThrownBy(() -> CompletableFuture.runAsync(lock::unlock).join())
        .hasCauseInstanceOf(IllegalMonitorStateException.class);
    lock.unlock();
    assertThat(lock.isLocked()).isFalse();
    assertThatThrownBy(lock::unlock).isInstanceOf(IllegalMonitorStateException.class);

    Condition cond = lock.newCondition();
    lock.lock();
    CompletableFuture<Boolean> signaller = CompletableFuture.supplyAsync(() -> {
      lock.lock(); // possible only once await() has released the hold
      try {
        cond.signal();
        return true;
      } finally {
        lock.unlock();
      }
    });
    assertThat(cond.await(30, TimeUnit.SECONDS)).as("signalled").isTrue();
    assertThat(lock.isHeldByCurrentThread()).as("re-taken after await").isTrue();
    lock.unlock();
    assertThat(signaller.get(30, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void theSuiteRunsWithTheCheckerOn() {
    assertThat(Lockdep.ENABLED).as("-Ddev.cmwq.lockdep=true in the test JVM").isTrue();
  }

  @Test
  void inversion_wqMutexUnderAPoolLock() {
    Workqueue wq = sys.workqueue("inv").build();
    WorkerPool pool = sys.cpuPool(0, false);
    List<String> r = reportsOf(() -> {
      pool.lock.lock();
      try {
        wq.mutex.lock();
        wq.mutex.unlock();
      } finally {
        pool.lock.unlock();
      }
    });
    assertThat(r).hasSize(1);
    assertThat(r.get(0)).contains("lock inversion: WQ_MUTEX inv acquired while holding POOL_LOCK")
        .contains("the other lock was acquired at:");
  }

  @Test
  void sameClassNesting_twoPoolLocks_butTryLockIsFine() {
    WorkerPool a = sys.cpuPool(0, false);
    WorkerPool b = sys.cpuPool(1, false);
    List<String> r = reportsOf(() -> {
      a.lock.lock();
      try {
        if (b.lock.tryLock()) { // no dependency: cannot deadlock
          b.lock.unlock();
        }
        b.lock.lock();
        b.lock.unlock();
      } finally {
        a.lock.unlock();
      }
    });
    assertThat(r).hasSize(1);
    assertThat(r.get(0)).contains("same-class nesting: POOL_LOCK");
  }

  @Test
  void recursiveLocking_isTheAADeadlock() {
    WorkerPool a = sys.cpuPool(0, true);
    List<String> r = reportsOf(() -> {
      a.lock.lock();
      try {
        a.lock.lock(); // a kernel spinlock would deadlock here
        a.lock.unlock();
      } finally {
        a.lock.unlock();
      }
    });
    assertThat(r).hasSize(1);
    assertThat(r.get(0)).contains("recursive locking of POOL_LOCK");
  }

  @Test
  void theDocumentedOrderIsClean() {
    Workqueue wq = sys.workqueue("order").unbound().build();
    WorkerPool pool = wq.dflPwq().pool;
    List<String> r = reportsOf(() -> {
      sys.poolMutex.lock();
      wq.mutex.lock();
      pool.lock.lock();
      wq.nodeNrActive(-1).lock();
      wq.nodeNrActive(-1).unlock();
      pool.lock.unlock();
      wq.mutex.unlock();
      sys.poolMutex.unlock();
    });
    assertThat(r).isEmpty();
  }
}
