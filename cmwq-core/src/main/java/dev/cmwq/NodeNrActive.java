package dev.cmwq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * {@code struct wq_node_nr_active} (Linux 6.9+): the active count an unbound workqueue shares
 * across all its pwqs of one NUMA node, so that max_active limits the whole workqueue rather than
 * each of its per-CPU pwqs. A pwq that cannot get a slot waits on the pending list; every
 * retiring item hands its slot to the first pending pwq, and pwqs rotate round-robin.
 *
 * <p>The object is its own lock ({@code nna->lock}, a spinning {@link PoolLock} of class
 * NNA_LOCK) and holds its counter in a field: one object per node instead of four
 * (ThreadEconomy). Lock order: {@code pool.lock} before this lock.
 */
final class NodeNrActive extends PoolLock {
  private static final VarHandle NR;

  static {
    try {
      NR = MethodHandles.lookup().findVarHandle(NodeNrActive.class, "nr", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** WQ to write (wq.mutex), racy reads: this node's share of max_active. */
  volatile int max;
  /** V (atomic through {@link #NR}): active items of the workqueue on this node. */
  private volatile int nr;
  /** N: head of the pending pwqs (links in the pwqs). */
  private PoolWorkqueue pendingHead;
  /** N: tail of the pending pwqs. */
  private PoolWorkqueue pendingTail;
  /** N to write, lock-free reads: length of the pending list. */
  private volatile int nrPending;

  NodeNrActive(int max) {
    super(Lockdep.LockClass.NNA_LOCK, "nna");
    this.max = max;
  }

  /** Active items of the workqueue on this node (dumps). */
  int nrActive() {
    return nr;
  }

  /** {@code tryinc_node_nr_active}: a slot if {@code nr < max}. */
  boolean tryinc() {
    int max = this.max;
    for (;;) {
      int old = nr;
      if (old >= max) {
        return false;
      }
      if (NR.compareAndSet(this, old, old + 1)) {
        return true;
      }
    }
  }

  /**
   * The unbound part of {@code pwq_tryinc_nr_active}. Pool lock of {@code pwq} held.
   *
   * <p>Memory ordering: a pwq that fails registers on the pending list (a volatile write of
   * {@link #nrPending}) and then retries (volatile reads of {@link #nr}); a retiring item
   * decrements {@code nr} (a volatile read-modify-write) and then reads {@code nrPending}. Both
   * pairs are volatile, hence sequentially consistent: either the retry sees the free slot or the
   * retiring side sees the pending pwq. Checked by {@code MaxActiveTest.unboundNodeLimitNeverStalls}.
   */
  boolean tryincFor(PoolWorkqueue pwq, boolean fill) {
    if (pwq.onPendingList && !fill) {
      return false; // already waiting: the retire path keeps the level, don't jump the line
    }
    if (tryinc()) {
      return true;
    }
    lock();
    try {
      if (!pwq.onPendingList) {
        addPendingTail(pwq);
      } else if (!fill) {
        return false;
      }
      boolean obtained = tryinc();
      if (obtained && !fill) {
        unlinkPending(pwq);
      }
      return obtained;
    } finally {
      unlock();
    }
  }

  /**
   * The unbound part of {@code pwq_dec_nr_active}: an item of {@code retiring} gave up its slot;
   * if below max and pwqs wait, activates an item of the first one. Pool lock of
   * {@code retiring}'s pool held; it may be dropped and retaken.
   *
   * <p>Hand-off: when the retiring pwq is the only one waiting (an ordered workqueue's single
   * pwq, on every item of a backlog), its next inactive item takes the slot over directly: the
   * kernel would decrement the count, take this lock, find the same pwq at the head, increment
   * the count and rotate the pwq to where it already is. The checks are lock-free reads: a pwq
   * that registers concurrently has already failed its own {@code tryinc} against the same full
   * count (which the hand-off does not lower, so no free slot goes unseen), and is served by the
   * next retirement, which sees two waiters and takes the locked path. A lowered max (or a
   * freeze) makes {@code nr <= max} false and also takes the locked path. Turn-taking is checked
   * by {@code MaxActiveTest.unbound_pwqsWaitingOnTheNodeLimit_takeTurns}, lost slots by
   * {@code MaxActiveTest.unboundNodeLimitNeverStalls}.
   */
  void decAndActivate(PoolWorkqueue retiring) {
    WorkerPool callerPool = retiring.pool;
    if (retiring.onPendingList && nrPending == 1 && nr <= max) {
      Work work = retiring.firstInactive();
      if (work != null) {
        retiring.nrActive++;
        retiring.activateWork(work);
        if (!retiring.hasInactive()) {
          removePending(retiring);
        }
        return;
      }
    }
    if ((int) NR.getAndAdd(this, -1) - 1 >= max) {
      return;
    }
    if (nrPending != 0) {
      activatePendingPwq(callerPool);
    }
  }

  /**
   * {@code node_activate_pending_pwq}: activates one inactive item of the first pending pwq,
   * possibly in another pool (taking that pool's lock with the caller's dropped: trylock
   * first, else the lock dance), then rotates the pwq to the tail if it still waits.
   */
  private void activatePendingPwq(WorkerPool callerPool) {
    WorkerPool locked = callerPool;
    lock();
    try {
      for (;;) {
        PoolWorkqueue pwq = pendingHead;
        if (pwq == null) {
          return;
        }
        if (pwq.pool != locked) {
          locked.lock.unlock();
          locked = pwq.pool;
          if (!locked.lock.tryLock()) {
            unlock();
            locked.lock.lock();
            lock();
            continue;
          }
        }
        Work work = pwq.firstInactive();
        if (work == null) {
          unlinkPending(pwq); // emptied by cancels
          continue;
        }
        if (tryinc()) {
          pwq.nrActive++;
          pwq.activateWork(work);
          if (!pwq.hasInactive()) {
            unlinkPending(pwq);
          } else {
            movePendingTail(pwq); // round-robin across pwqs
          }
          if (pwq.pool != callerPool) {
            pwq.pool.kickPool();
          }
        }
        return;
      }
    } finally {
      unlock();
      if (locked != callerPool) {
        locked.lock.unlock();
        callerPool.lock.lock();
      }
    }
  }

  /** Removes a released pwq from the pending list. */
  void removePending(PoolWorkqueue pwq) {
    lock();
    try {
      if (pwq.onPendingList) {
        unlinkPending(pwq);
      }
    } finally {
      unlock();
    }
  }

  /** Number of pending pwqs (dumps). */
  int pendingCount() {
    return nrPending;
  }

  private void addPendingTail(PoolWorkqueue pwq) {
    pwq.onPendingList = true;
    pwq.pendingNext = null;
    pwq.pendingPrev = pendingTail;
    if (pendingTail != null) {
      pendingTail.pendingNext = pwq;
    } else {
      pendingHead = pwq;
    }
    pendingTail = pwq;
    nrPending++;
  }

  /**
   * {@code list_move_tail}: to the end of the pending list (round-robin). A pwq that is already
   * last — an ordered workqueue's only pwq, on every item — stays where it is, on the list.
   */
  private void movePendingTail(PoolWorkqueue pwq) {
    if (pendingTail != pwq) {
      unlinkPending(pwq);
      addPendingTail(pwq);
    }
  }

  private void unlinkPending(PoolWorkqueue pwq) {
    if (pwq.pendingPrev != null) {
      pwq.pendingPrev.pendingNext = pwq.pendingNext;
    } else {
      pendingHead = pwq.pendingNext;
    }
    if (pwq.pendingNext != null) {
      pwq.pendingNext.pendingPrev = pwq.pendingPrev;
    } else {
      pendingTail = pwq.pendingPrev;
    }
    pwq.pendingPrev = null;
    pwq.pendingNext = null;
    pwq.onPendingList = false;
    nrPending--;
  }
}
