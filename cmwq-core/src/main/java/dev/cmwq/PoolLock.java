package dev.cmwq;

/**
 * The pool lock ({@code pool->lock}, a raw spinlock in the kernel). Critical sections are a few
 * hundred nanoseconds, far shorter than a park/unpark round trip, so a contended acquisition
 * spins briefly before queueing and parking like a plain {@code ReentrantLock}.
 */
final class PoolLock extends Lockdep.Lock {
  /** Failed tries before parking; a few microseconds at most. */
  private static final int SPINS = 128;

  PoolLock(String name) {
    super(Lockdep.LockClass.POOL_LOCK, name);
  }

  @Override
  protected void blockingAcquire() {
    for (int i = 0; i < SPINS; i++) {
      Thread.onSpinWait();
      if (!isLocked() && rawTryLock()) {
        return;
      }
    }
    rawLock();
  }
}
