package dev.cmwq;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.AbstractQueuedSynchronizer;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A lock-order checker for the engine's own locks: the JVM counterpart of the kernel's lockdep,
 * the tool that exposed the A-A risk the {@code pool_workqueue_release} worker removes.
 *
 * <p>Off by default; {@code -Ddev.cmwq.lockdep=true} turns it on (the test suite always runs
 * with it). Every engine lock belongs to a {@link LockClass} with a rank that encodes the
 * documented lock order. When a thread blocks to acquire a lock while holding others, the
 * checker reports:
 * <ul>
 *   <li><b>recursive locking</b>: the lock is already held by this thread (the A-A deadlock of
 *       a non-reentrant kernel spinlock; {@link ReentrantLock} would hide it);</li>
 *   <li><b>same-class nesting</b>: another lock of the same class is held (two pool locks, two
 *       workqueue mutexes);</li>
 *   <li><b>inversion</b>: a lock of a later class is held.</li>
 * </ul>
 * Try-locks create no dependency, as in the kernel (they cannot deadlock). A report is logged
 * at ERROR with the acquiring stack and where the conflicting lock was taken, and kept in
 * {@link #violations()}; the program continues, as after a kernel lockdep splat.
 */
public final class Lockdep {
  /** Whether checking is on ({@code -Ddev.cmwq.lockdep=true}). */
  public static final boolean ENABLED = Boolean.getBoolean("dev.cmwq.lockdep");

  /** The engine's lock classes, in lock order (a lower rank is taken first). */
  public enum LockClass {
    /** {@code wq_pool_mutex}: {@code WorkqueueSystem.poolMutex}. */
    POOL_MUTEX(10),
    /** {@code wq->mutex}: {@code Workqueue.mutex}. */
    WQ_MUTEX(20),
    /** {@code pool->lock}: {@code WorkerPool.lock}. */
    POOL_LOCK(30),
    /** {@code nna->lock}: the node nr_active lock, nested in pool locks. */
    NNA_LOCK(40),
    /** {@code wq_mayday_lock}, nested in pool locks. */
    MAYDAY_LOCK(40),
    /** {@code kthread_worker->lock} (the release worker is queued to under pool locks). */
    KTHREAD_WORKER(50),
    /** {@code timer_base->lock}: the leaf. */
    TIMER_BASE(60);

    final int rank;

    LockClass(int rank) {
      this.rank = rank;
    }
  }

  private static final List<String> VIOLATIONS = Collections.synchronizedList(new ArrayList<>());
  private static final ThreadLocal<ArrayList<Held>> HELD =
      ThreadLocal.withInitial(() -> new ArrayList<>(4));

  private Lockdep() {}

  /** The reports so far (empty when checking is off). */
  public static List<String> violations() {
    synchronized (VIOLATIONS) {
      return List.copyOf(VIOLATIONS);
    }
  }

  /** Removes and returns the reports from index {@code from} on (tests provoking reports). */
  static List<String> takeViolationsFrom(int from) {
    synchronized (VIOLATIONS) {
      List<String> l = new ArrayList<>(VIOLATIONS.subList(from, VIOLATIONS.size()));
      VIOLATIONS.subList(from, VIOLATIONS.size()).clear();
      return l;
    }
  }

  /** A held lock and where it was taken. */
  private static final class Held {
    final Lock lock;
    final Throwable where;

    Held(Lock lock) {
      this.lock = lock;
      this.where = new Throwable("acquired here");
    }
  }

  private static void check(Lock l) {
    ArrayList<Held> held = HELD.get();
    for (Held h : held) {
      String what;
      if (h.lock == l) {
        what = "recursive locking of " + l.describe() + " (an A-A deadlock for a kernel spinlock)";
      } else if (h.lock.cls == l.cls) {
        what = "same-class nesting: " + l.describe() + " acquired while holding " + h.lock.describe();
      } else if (h.lock.cls.rank > l.cls.rank) {
        what = "lock inversion: " + l.describe() + " acquired while holding " + h.lock.describe()
            + " (expected order: " + l.cls + " before " + h.lock.cls + ")";
      } else {
        continue;
      }
      report(what, h);
    }
  }

  private static void report(String what, Held conflicting) {
    Throwable here = new Throwable("acquiring here");
    StringBuilder sb = new StringBuilder("Lockdep: ").append(what).append(" in thread ")
        .append(Thread.currentThread().getName()).append('\n');
    for (StackTraceElement e : here.getStackTrace()) {
      sb.append("    at ").append(e).append('\n');
    }
    sb.append("  the other lock was acquired at:\n");
    for (StackTraceElement e : conflicting.where.getStackTrace()) {
      sb.append("    at ").append(e).append('\n');
    }
    String text = sb.toString();
    VIOLATIONS.add(text);
    Warn.LOG.log(Level.ERROR, text);
  }

  private static void acquired(Lock l) {
    HELD.get().add(new Held(l));
  }

  private static void released(Lock l) {
    ArrayList<Held> held = HELD.get();
    for (int i = held.size() - 1; i >= 0; i--) {
      if (held.get(i).lock == l) {
        held.remove(i);
        return;
      }
    }
  }

  /**
   * An engine lock: reentrant, non-fair, with {@link ReentrantLock}'s semantics, that reports
   * order violations when checking is on. Re-entry is still allowed (it is reported), so
   * enabling the checker changes no behaviour.
   *
   * <p>It is its own {@link AbstractQueuedSynchronizer} (state = hold count, owner = the
   * holding thread) rather than a {@code ReentrantLock}, which delegates to a second object:
   * every workqueue has a mutex and every unbound one a node lock, and the second object was
   * 32 B of each (ThreadEconomy). The engine never calls the synchronizer methods directly.
   */
  public static class Lock extends AbstractQueuedSynchronizer
      implements java.util.concurrent.locks.Lock {
    private static final long serialVersionUID = 1L;

    final LockClass cls;
    private final String name;

    /** A lock of class {@code cls}, named for reports. */
    public Lock(LockClass cls, String name) {
      this.cls = cls;
      this.name = name;
    }

    String describe() {
      return cls + " " + name;
    }

    // ---- the synchronizer (ReentrantLock.Sync's rules) ----------------------------------

    @Override
    protected final boolean tryAcquire(int acquires) {
      Thread current = Thread.currentThread();
      int c = getState();
      if (c == 0) {
        if (compareAndSetState(0, acquires)) {
          setExclusiveOwnerThread(current);
          return true;
        }
      } else if (getExclusiveOwnerThread() == current) {
        int next = c + acquires;
        if (next < 0) {
          throw new Error("Maximum lock count exceeded");
        }
        setState(next);
        return true;
      }
      return false;
    }

    @Override
    protected final boolean tryRelease(int releases) {
      if (getExclusiveOwnerThread() != Thread.currentThread()) {
        throw new IllegalMonitorStateException(describe() + " is not held by "
            + Thread.currentThread().getName());
      }
      int c = getState() - releases;
      boolean free = c == 0;
      if (free) {
        setExclusiveOwnerThread(null);
      }
      setState(c); // volatile write: publishes the owner change
      return free;
    }

    @Override
    protected final boolean isHeldExclusively() {
      return getExclusiveOwnerThread() == Thread.currentThread();
    }

    // ---- java.util.concurrent.locks.Lock --------------------------------------------------

    /**
     * Acquires: one uncontended attempt, else {@link #blockingAcquire()}. Checked and recorded
     * once either way.
     */
    @Override
    public final void lock() {
      if (ENABLED) {
        check(this);
      }
      if (!tryAcquire(1)) {
        blockingAcquire();
      }
      if (ENABLED) {
        acquired(this);
      }
    }

    /** The contended path; subclasses spin first or tell concurrency management. */
    protected void blockingAcquire() {
      rawLock();
    }

    /** Blocking acquisition without bookkeeping. */
    protected final void rawLock() {
      acquire(1);
    }

    /** One non-blocking attempt without bookkeeping. */
    protected final boolean rawTryLock() {
      return tryAcquire(1);
    }

    @Override
    public void lockInterruptibly() throws InterruptedException {
      if (ENABLED) {
        check(this);
      }
      acquireInterruptibly(1);
      if (ENABLED) {
        acquired(this);
      }
    }

    @Override
    public boolean tryLock() {
      boolean ok = tryAcquire(1);
      if (ok && ENABLED) {
        acquired(this);
      }
      return ok;
    }

    @Override
    public boolean tryLock(long timeout, TimeUnit unit) throws InterruptedException {
      boolean ok = tryAcquireNanos(1, unit.toNanos(timeout));
      if (ok && ENABLED) {
        acquired(this);
      }
      return ok;
    }

    @Override
    public void unlock() {
      release(1);
      if (ENABLED) {
        released(this);
      }
    }

    @Override
    public Condition newCondition() {
      return new ConditionObject();
    }

    /** Whether any thread holds the lock. */
    public final boolean isLocked() {
      return getState() != 0;
    }

    /** Whether the calling thread holds the lock. */
    public final boolean isHeldByCurrentThread() {
      return isHeldExclusively();
    }

    @Override
    public String toString() {
      return describe() + (isLocked() ? " (locked)" : "");
    }
  }
}
