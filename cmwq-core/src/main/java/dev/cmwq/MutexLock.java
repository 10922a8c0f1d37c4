package dev.cmwq;

/**
 * A sleeping lock of the engine ({@code wq->mutex}, {@code wq_pool_mutex}). A worker that has
 * to wait for it counts as sleeping for concurrency management, as a kernel worker blocking on
 * a mutex does ({@code wq_worker_sleeping}); its pool may start another worker meanwhile.
 *
 * <p>Safe with the lock order: these mutexes come before pool locks, and the hooks take only the
 * waiting worker's own pool lock, never while a pool lock is held.
 */
final class MutexLock extends Lockdep.Lock {
  MutexLock(Lockdep.LockClass cls, String name) {
    super(cls, name);
  }

  @Override
  protected void blockingAcquire() {
    Worker worker = Worker.current();
    if (worker == null) {
      rawLock();
      return;
    }
    worker.sleepingHook();
    try {
      rawLock();
    } finally {
      worker.runningHook();
    }
  }
}
