package dev.cmwq;

/**
 * The pool lock ({@code pool->lock}, a raw spinlock in the kernel), also used for the node-wide
 * active counter's lock ({@code nna->lock}, likewise a raw spinlock). Critical sections are a
 * few hundred nanoseconds, far shorter than a park/unpark round trip, so a contended acquisition
 * spins briefly before queueing and parking like a plain {@code ReentrantLock} (which would
 * also allocate a queue node per parked acquisition: {@code BenchGatesTest}).
 */
class PoolLock extends Lockdep.Lock {
  /** Failed tries before parking; a few microseconds at most. */
  private static final int SPINS = 128;

  PoolLock(String name) {
    super(Lockdep.LockClass.POOL_LOCK, name);
  }

  PoolLock(Lockdep.LockClass cls, String name) {
    super(cls, name);
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
