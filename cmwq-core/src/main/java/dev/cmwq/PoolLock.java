package dev.cmwq;

/**
 * The pool lock ({@code pool->lock}, a raw spinlock in the kernel), also used for the node-wide
 * active counter's lock ({@code nna->lock}, likewise a raw spinlock). Critical sections are a
 * few hundred nanoseconds, far shorter than a park/unpark round trip, so a contended acquisition
 * spins briefly before queueing and parking like a plain {@code ReentrantLock} (which would
 * also allocate a queue node per parked acquisition: {@code BenchGatesTest}).
 */
class PoolLock extends Lockdep.Lock {
  /** Failed tries before parking: about 1.5 µs of {@code onSpinWait} here (12 ns each). */
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

  /**
   * The lock of an unbound pool: a contended acquisition spins with exponential backoff for an
   * adaptive budget before parking. Unbound workers are not pinned, so a waiter usually spins on
   * another CPU than the running holder; and the holder is often a worker that drops the lock
   * only to run one item's function before taking it again (an ordered workqueue retires and
   * activates one item per hold). Polling the lock word every pause keeps its cache line moving
   * between the two CPUs and catches few of those short gaps; parking instead makes every later
   * release pay an unpark. Backing off lets the holder run several items undisturbed, and the
   * budget (in pauses) doubles after a spin that got the lock and halves after one that had
   * to park, so an oversubscribed pool (holders descheduled) soon parks at once, as
   * HotSpot's adaptive monitor spinning does. Per-CPU pools keep the short fixed spin: their
   * workers are pinned to the CPU their queuers usually run on, where spinning would only
   * delay the holder. Measured by the OrderedBurst benchmark (docs/benchmarks.md).
   */
  static final class Adaptive extends PoolLock {
    /** Smallest budget, in pauses (about 0.4 µs). */
    static final int MIN_BUDGET = 32;
    /** Largest budget, in pauses (about 12 µs). */
    static final int MAX_BUDGET = 1024;
    /** Longest single backoff, in pauses. */
    static final int MAX_PAUSE = 64;

    /** R: pauses the next contended acquisition may spend before parking. */
    int spinBudget = 128;

    Adaptive(String name) {
      super(name);
    }

    @Override
    protected void blockingAcquire() {
      int budget = spinBudget;
      int pause = 1;
      for (int spent = 0; spent < budget; spent += pause) {
        for (int k = 0; k < pause; k++) {
          Thread.onSpinWait();
        }
        if (!isLocked() && rawTryLock()) {
          spinBudget = Math.min(MAX_BUDGET, budget << 1);
          return;
        }
        pause = Math.min(MAX_PAUSE, pause << 1);
      }
      spinBudget = Math.max(MIN_BUDGET, budget >> 1);
      rawLock();
    }
  }
}
