package dev.cmwq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * A work item, {@code struct work_struct}: a function plus one atomically updated state word.
 *
 * <p>Queue it with {@link Workqueue#queueWork}; while it is <em>pending</em> (queued and not yet
 * started) further queueing coalesces into the pending instance and returns {@code false}. An
 * item never runs on two threads at once anywhere in its {@link WorkqueueSystem}, provided it is
 * not queued on a different workqueue while pending.
 *
 * <p>Items are meant to be long-lived and reused: queueing an existing item allocates nothing.
 * Subclass to attach context ({@code container_of}): the function receives the item.
 *
 * <h2>Implementation notes</h2>
 *
 * <pre>
 * The data word ({@code work->data}):
 *
 *  63                          24 23            8 7     4  3   2   1   0
 * +------------------------------+---------------+-------+---+---+---+---+
 * | pool id (off queue)          | disable count | color | L | P | I | P |
 * +------------------------------+---------------+-------+---+---+---+---+
 *                                                          |   |   |   +- PENDING
 *                                                          |   |   +----- INACTIVE
 *                                                          |   +--------- PWQ: queued, see field pwq
 *                                                          +------------- LINKED: next item is chained
 * </pre>
 *
 * While {@code PWQ} is set the item is queued and the {@link #pwq} field (written under that
 * pwq's pool lock <em>before</em> the word) names the pool workqueue; the high bits are then
 * unused. Off queue, the high bits hold the id of the last pool the item was queued on or ran
 * in ({@link WorkerPool#byId}) and the disable count of {@link #disable()}.
 *
 * <p>Ownership ({@code try_to_grab_pending}): only a successful 0-to-1 flip of PENDING makes a
 * thread the owner; only the owner (or, while the item is queued, the holder of its pool's lock)
 * writes the other bits. PENDING is cleared by the worker when execution starts, by cancel paths
 * and by the disabled-item check of queueing.
 */
public class Work {
  // ---- data word layout -------------------------------------------------------------------

  /** The item is owned by the queueing machinery: queued, armed or in transit. */
  static final long WORK_STRUCT_PENDING = 1L;
  /** On a pwq's inactive list (max_active reached); does not count toward nr_active. */
  static final long WORK_STRUCT_INACTIVE = 1L << 1;
  /** Queued; {@link #pwq} names the pool workqueue. */
  static final long WORK_STRUCT_PWQ = 1L << 2;
  /** The next item on the list (a flush barrier) moves with this one. */
  static final long WORK_STRUCT_LINKED = 1L << 3;
  static final int WORK_STRUCT_COLOR_SHIFT = 4;
  /** Number of flush colours, {@code WORK_NR_COLORS}. */
  static final int WORK_NR_COLORS = 16;
  static final int WORK_OFFQ_DISABLE_SHIFT = 8;
  /** Largest disable count ({@code WORK_OFFQ_DISABLE_BITS} = 16). */
  static final int WORK_OFFQ_DISABLE_MAX = (1 << 16) - 1;
  static final int WORK_OFFQ_POOL_SHIFT = 24;
  /** Pool id meaning "never associated with a pool". */
  static final int WORK_OFFQ_POOL_NONE = Integer.MAX_VALUE;
  /** Initial data: off queue, no pool, enabled. */
  static final long WORK_STRUCT_NO_POOL = (long) WORK_OFFQ_POOL_NONE << WORK_OFFQ_POOL_SHIFT;

  /** {@link #busy()} bit: the item is pending ({@code WORK_BUSY_PENDING}). */
  public static final int BUSY_PENDING = 1;
  /** {@link #busy()} bit: the item is executing ({@code WORK_BUSY_RUNNING}). */
  public static final int BUSY_RUNNING = 2;

  // ---- fields -----------------------------------------------------------------------------

  /** V: the data word above; see the ownership rules in the class comment. */
  volatile long data = WORK_STRUCT_NO_POOL;
  /**
   * I: the function: the {@link WorkFunction}, or the {@link Runnable} itself when
   * {@link #runnable} is set (no wrapper object: one object and one dependent load fewer per
   * item); null only for list heads.
   */
  final Object fn;
  /** I: {@link #fn} is a {@link Runnable}, run without the item. */
  final boolean runnable;
  /** L: the pwq this item is queued on, valid while {@code WORK_STRUCT_PWQ} is set. */
  PoolWorkqueue pwq;
  /** L: list links ({@code entry}); self-linked when on no list. */
  Work prev = this;
  /** L: list links ({@code entry}); self-linked when on no list. */
  Work next = this;

  /**
   * An item running {@code fn} ({@code INIT_WORK}).
   *
   * @throws NullPointerException if {@code fn} is null
   */
  public Work(Runnable fn) {
    this.fn = Checks.notNull(fn, "fn");
    this.runnable = true;
  }

  /**
   * An item running {@code fn}, which receives the item ({@code INIT_WORK}).
   *
   * @throws NullPointerException if {@code fn} is null
   */
  public Work(WorkFunction fn) {
    this.fn = Checks.notNull(fn, "fn");
    this.runnable = false;
  }

  /** List heads and internal items. */
  Work(WorkFunction fn, boolean internal) {
    this.fn = fn;
    this.runnable = false;
  }

  /**
   * Calls the item's function ({@link #fn} is final: a requeue while it runs cannot change it).
   */
  final void callFunction() throws Throwable {
    if (runnable) {
      ((Runnable) fn).run();
    } else {
      ((WorkFunction) fn).run(this);
    }
  }

  // ---- public API -------------------------------------------------------------------------

  /** Whether the item is pending: queued (or armed) and not yet started ({@code work_pending}). */
  public boolean isPending() {
    return (data & WORK_STRUCT_PENDING) != 0;
  }

  /** Whether a worker is executing the item right now (advisory, {@code work_busy() & RUNNING}). */
  public boolean isRunning() {
    return (busy() & BUSY_RUNNING) != 0;
  }

  /**
   * {@code work_busy()}: {@link #BUSY_PENDING} if pending, {@link #BUSY_RUNNING} if executing.
   * Advisory only: the answer may be stale by the time it is returned.
   */
  public int busy() {
    int ret = isPending() ? BUSY_PENDING : 0;
    WorkerPool pool = getWorkPool();
    if (pool != null) {
      pool.lock.lock();
      try {
        if (pool.findWorkerExecutingWork(this) != null) {
          ret |= BUSY_RUNNING;
        }
      } finally {
        pool.lock.unlock();
      }
    }
    return ret;
  }

  /**
   * {@code flush_work()}: waits until the last queueing instance of this item has finished.
   * Items queued after the call started are not waited for.
   *
   * <p>When called from a worker thread, the worker counts as sleeping while it waits
   * (concurrency management wakes another one).
   *
   * @return true if it had to wait, false if the item was idle
   * @throws IllegalStateException if called from this item's own function, or when waiting would
   *     deadlock (the item is queued behind the caller on an ordered or max_active 1 workqueue)
   */
  public boolean flush() {
    return doFlushWork(false);
  }

  /**
   * {@code cancel_work()}: removes the item from its queue if it is pending. Does not wait for a
   * running instance, which may go on and even requeue itself.
   *
   * @return true if the item was pending
   */
  public boolean cancel() {
    return doCancelWork(false);
  }

  /**
   * {@code cancel_work_sync()}: cancels the item and waits for a running instance to finish. On
   * return the item is neither pending nor running, even if its function requeues itself;
   * queue attempts made meanwhile fail (return false).
   *
   * @return true if the item was pending
   * @throws IllegalStateException if called from this item's own function (it would wait for itself)
   */
  public boolean cancelSync() {
    checkNotSelf("cancelSync");
    boolean ret = doCancelWork(true);
    doFlushWork(true);
    enable();
    return ret;
  }

  /**
   * {@code disable_work()}: cancels the item and raises its disable count; until a matching
   * {@link #enable()} every queue attempt fails. Does not wait for a running instance.
   *
   * @return true if the item was pending
   */
  public boolean disable() {
    return doCancelWork(true);
  }

  /**
   * {@code disable_work_sync()}: {@link #disable()} and wait for a running instance.
   *
   * @return true if the item was pending
   * @throws IllegalStateException if called from this item's own function
   */
  public boolean disableSync() {
    checkNotSelf("disableSync");
    boolean ret = doCancelWork(true);
    doFlushWork(true);
    return ret;
  }

  /**
   * {@code enable_work()}: lowers the disable count.
   *
   * @return true if the count reached zero (the item can be queued again)
   */
  public boolean enable() {
    grabPending();
    long d = data;
    int disable = offqDisable(d);
    if (disable == 0) {
      Warn.once("enable-underflow", "workqueue: enable() of an item that is not disabled: " + this);
    } else {
      disable--;
    }
    setWorkPoolAndClearPending(offqPoolId(d), disable);
    return disable == 0;
  }

  /** The item the calling worker is executing ({@code current_work()}), or null off a worker. */
  public static Work current() {
    Worker worker = Worker.current();
    Work work = worker == null ? null : worker.currentWork;
    return work instanceof WqBarrier ? null : work;
  }

  /** The function's class and the item's identity, as dumps print them. */
  @Override
  public String toString() {
    return functionName(fn) + "@" + Integer.toHexString(System.identityHashCode(this));
  }

  /** The class traces name for this item's function (executor views name the user's task). */
  Class<?> functionClass() {
    return fn.getClass();
  }

  /**
   * The name dumps and traces use for a work function ({@code %ps}): the class without its
   * package, lambdas shortened to their defining class ({@code Demo$$Lambda}).
   */
  static String functionName(Object fn) {
    if (fn == null) {
      return "null";
    }
    String name = fn.getClass().getName();
    int lambda = name.indexOf("$$Lambda");
    if (lambda >= 0) {
      name = name.substring(0, lambda) + "$$Lambda";
    }
    return name.substring(name.lastIndexOf('.', lambda >= 0 ? lambda : name.length()) + 1);
  }

  // ---- data word helpers ------------------------------------------------------------------

  static int colorOf(long data) {
    return (int) (data >>> WORK_STRUCT_COLOR_SHIFT) & (WORK_NR_COLORS - 1);
  }

  static long colorFlags(int color) {
    return (long) color << WORK_STRUCT_COLOR_SHIFT;
  }

  static int offqPoolId(long data) {
    return (int) (data >>> WORK_OFFQ_POOL_SHIFT) & Integer.MAX_VALUE;
  }

  static int offqDisable(long data) {
    return (int) (data >>> WORK_OFFQ_DISABLE_SHIFT) & WORK_OFFQ_DISABLE_MAX;
  }

  static long offqData(int poolId, int disable) {
    return ((long) poolId << WORK_OFFQ_POOL_SHIFT) | ((long) disable << WORK_OFFQ_DISABLE_SHIFT);
  }

  /**
   * Atomically sets PENDING; true if this call made the caller the owner. The read-modify-write
   * is a full barrier even when it fails, which is what makes a {@code false} return of
   * {@code queueWork} safe: the pending instance starts with {@link #setWorkPoolAndClearPending}
   * (an atomic exchange that reads this write), so it sees everything the caller wrote before.
   * Checked by {@code QueueWorkTest.falseReturnStillRunsAfterTheCall}.
   */
  final boolean testAndSetPending() {
    return ((long) DATA.getAndBitwiseOr(this, WORK_STRUCT_PENDING) & WORK_STRUCT_PENDING) == 0;
  }

  /**
   * {@code set_work_pwq}: the item is now queued on {@code pwq}. Pool lock held, PENDING owned.
   * A release store, as the kernel's plain {@code set_work_data} here: it publishes the pwq link
   * to lock-free readers of the word ({@code getWorkPool}, which re-checks under the pool lock),
   * and nothing after it in this critical section needs the full fence of a volatile store
   * (the unlock that follows is one). Every PENDING transition stays an atomic read-modify-write.
   * Checked by the jcstress tests {@code TryToGrabPending} and {@code InsertWqBarrier}.
   */
  final void setWorkPwq(PoolWorkqueue pwq, long flags) {
    this.pwq = pwq;
    DATA.setRelease(this, WORK_STRUCT_PWQ | WORK_STRUCT_PENDING | flags);
  }

  /**
   * Off queue, still PENDING (stolen by its new owner). Pool lock held, PENDING owned; a release
   * store for the reason given at {@link #setWorkPwq}.
   */
  final void setWorkPoolAndKeepPending(int poolId, int disable) {
    this.pwq = null;
    DATA.setRelease(this, offqData(poolId, disable) | WORK_STRUCT_PENDING);
  }

  /**
   * {@code set_work_pool_and_clear_pending}: off queue and released. The pwq link is dropped
   * first, while PENDING still excludes every other writer. The exchange (not a plain store)
   * makes this a full fence that reads the latest PENDING setter's write, pairing with
   * {@link #testAndSetPending()}.
   */
  final void setWorkPoolAndClearPending(int poolId, int disable) {
    this.pwq = null;
    DATA.getAndSet(this, offqData(poolId, disable));
  }

  /** Sets LINKED on a queued item (pool lock held); atomic because PENDING setters race. */
  final void setLinked() {
    DATA.getAndBitwiseOr(this, WORK_STRUCT_LINKED);
  }

  /**
   * {@code clear_pending_if_disabled}: called by a new PENDING owner before queueing. If the item
   * is disabled, releases PENDING and returns true.
   */
  final boolean clearPendingIfDisabled() {
    long d = data;
    if (offqDisable(d) == 0) {
      return false;
    }
    setWorkPoolAndClearPending(offqPoolId(d), offqDisable(d));
    return true;
  }

  /** Releases PENDING without queueing (a rejected queue attempt); the item stays as it was. */
  final void releasePending() {
    long d = data;
    setWorkPoolAndClearPending(offqPoolId(d), offqDisable(d));
  }

  /**
   * {@code get_work_pool}: the pool the item is queued on, or the last pool it ran in, or null.
   * Lock-free; callers re-validate under the pool lock.
   */
  final WorkerPool getWorkPool() {
    for (int spins = 0; ; spins++) {
      long d = data;
      if ((d & WORK_STRUCT_PWQ) != 0) {
        PoolWorkqueue p = pwq;
        if (p != null) {
          return p.pool;
        }
        // Dequeued between the two reads: the word changes right after the link is dropped.
        backoff(spins);
        continue;
      }
      int id = offqPoolId(d);
      return id == WORK_OFFQ_POOL_NONE ? null : WorkerPool.byId(id);
    }
  }

  // ---- list links (list_head) -------------------------------------------------------------

  /** {@code list_add_tail(this, head)}: insert before {@code head}. */
  final void listAddTail(Work head) {
    Work last = head.prev;
    this.next = head;
    this.prev = last;
    last.next = this;
    head.prev = this;
  }

  /** {@code list_del_init}. */
  final void listDelInit() {
    prev.next = next;
    next.prev = prev;
    prev = this;
    next = this;
  }

  /** {@code list_move_tail(this, head)}. */
  final void listMoveTail(Work head) {
    listDelInit();
    listAddTail(head);
  }

  /** Whether this node is on a list. */
  final boolean onList() {
    return next != this;
  }

  /**
   * {@code move_linked_works}: moves this item and every item LINKED behind it to the tail of
   * {@code head}; returns the node that followed the last of them. Pool lock held.
   */
  final Work moveLinkedWorks(Work head) {
    Work work = this;
    for (;;) {
      Work n = work.next;
      boolean linked = (work.data & WORK_STRUCT_LINKED) != 0;
      work.listMoveTail(head);
      if (!linked) {
        return n;
      }
      work = n;
    }
  }

  // ---- grabbing PENDING, cancel -----------------------------------------------------------

  /**
   * {@code try_to_grab_pending}: 1 if the item was queued and has been stolen (PENDING now
   * ours), 0 if it was idle and PENDING is now ours, -1 if it is in transit (retry).
   */
  int tryToGrabPending() {
    if (testAndSetPending()) {
      return 0;
    }
    WorkerPool pool = getWorkPool();
    if (pool == null) {
      return -1;
    }
    pool.lock.lock();
    try {
      long d = data;
      PoolWorkqueue p = pwq;
      // data names a pwq of the pool we hold the lock of: the item is queued right here.
      if ((d & WORK_STRUCT_PWQ) != 0 && p != null && p.pool == pool) {
        if ((d & WORK_STRUCT_INACTIVE) != 0) {
          // Linked barriers must not stay on the inactive list: they go to the worklist.
          moveLinkedWorks(pool.worklist);
        }
        listDelInit();
        setWorkPoolAndKeepPending(pool.id, 0);
        p.decNrInFlight(d);
        pool.kickPool();
        return 1;
      }
    } finally {
      pool.lock.unlock();
    }
    return -1;
  }

  /** {@code work_grab_pending}: retries until PENDING is ours; true if the item was pending. */
  final boolean grabPending() {
    for (int spins = 0; ; spins++) {
      int r = tryToGrabPending();
      if (r >= 0) {
        return r == 1;
      }
      backoff(spins);
    }
  }

  /** Waiting out another thread's short claim-to-insert window. */
  static void backoff(int spins) {
    if (spins < 64) {
      Thread.onSpinWait();
    } else if (spins < 128) {
      Thread.yield();
    } else {
      LockSupport.parkNanos(10_000L);
    }
  }

  /** {@code __cancel_work}: steal, optionally raise the disable count, release. */
  final boolean doCancelWork(boolean disable) {
    boolean ret = grabPending();
    long d = data;
    int count = offqDisable(d);
    if (disable) {
      if (count == WORK_OFFQ_DISABLE_MAX) {
        Warn.once("disable-overflow", "workqueue: disable count of " + this + " saturated");
      } else {
        count++;
      }
    }
    setWorkPoolAndClearPending(offqPoolId(d), count);
    return ret;
  }

  private void checkNotSelf(String op) {
    Worker self = Worker.current();
    if (self != null && self.currentWork == this) {
      throw new IllegalStateException(
          op + "() of " + this + " from its own function would wait for itself forever");
    }
  }

  // ---- flush_work -------------------------------------------------------------------------

  /** {@code __flush_work}. */
  final boolean doFlushWork(boolean fromCancel) {
    if (!fromCancel) {
      checkNotSelf("flush");
    }
    WqBarrier barr = startFlushWork(fromCancel);
    if (barr == null) {
      return false;
    }
    barr.done.await();
    return true;
  }

  /**
   * {@code start_flush_work}: inserts a barrier right behind the queued item, or at the head of
   * the scheduled list of the worker executing it. Null if the item is idle.
   */
  private WqBarrier startFlushWork(boolean fromCancel) {
    WorkerPool pool = getWorkPool();
    if (pool == null) {
      return null;
    }
    pool.lock.lock();
    try {
      Worker worker = null;
      PoolWorkqueue p;
      if ((data & WORK_STRUCT_PWQ) != 0) {
        p = pwq;
        if (p == null || p.pool != pool) {
          return null; // moved to another pool meanwhile: already gone
        }
      } else {
        worker = pool.findWorkerExecutingWork(this);
        if (worker == null) {
          return null;
        }
        p = worker.currentPwq;
      }
      if (!fromCancel) {
        p.wq.checkFlushDependency(Worker.current());
        if (worker == null) {
          checkFlushWouldDeadlock(p);
        }
      }
      WqBarrier barr = new WqBarrier();
      p.insertWqBarrier(barr, this, worker);
      return barr;
    } finally {
      pool.lock.unlock();
    }
  }

  /**
   * The kernel's lockdep "touch" of the workqueue: flushing an item that is queued on the very
   * pwq the caller executes from, when that pwq admits one item at a time, can never finish.
   */
  private void checkFlushWouldDeadlock(PoolWorkqueue p) {
    Worker self = Worker.current();
    if (self == null) {
      return;
    }
    if (self.currentPwq == p && p.wq.savedMaxActiveIsOne()) {
      throw new IllegalStateException("flush() of " + this + " from an item of workqueue "
          + p.wq.name() + " would deadlock: it is queued behind the caller and the workqueue runs"
          + " one item at a time");
    }
    if (self.rescueWq != null && self.rescueWq == p.wq) {
      throw new IllegalStateException("flush() of " + this + " from the rescuer of workqueue "
          + p.wq.name() + " would deadlock: the item is queued on the same workqueue and the"
          + " rescuer is its only execution context when workers cannot be created");
    }
  }

  private static final VarHandle DATA;

  static {
    try {
      DATA = MethodHandles.lookup().findVarHandle(Work.class, "data", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
