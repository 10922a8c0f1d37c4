package dev.cmwq;

import java.util.concurrent.locks.ReentrantLock;

/**
 * The pool lock ({@code pool->lock}, a raw spinlock in the kernel). Critical sections are a few
 * hundred nanoseconds, far shorter than a park/unpark round trip, so a contended acquisition
 * spins briefly before queueing and parking like a plain {@link ReentrantLock}.
 */
final class PoolLock extends ReentrantLock {
  /** Failed tries before parking; a few microseconds at most. */
  private static final int SPINS = 128;

  @Override
  public void lock() {
    if (tryLock()) {
      return;
    }
    for (int i = 0; i < SPINS; i++) {
      Thread.onSpinWait();
      if (!isLocked() && tryLock()) {
        return;
      }
    }
    super.lock();
  }
}
