package dev.cmwq;

import dev.cmwq.kthread.KthreadWork;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * {@code struct pool_workqueue}: the link between one workqueue and one worker pool. It owns the
 * workqueue's per-pool state: flush colours, the active count against max_active, the FIFO of
 * inactive items, statistics, and its reference count.
 *
 * <h2>Reference counting and release (the seed design)</h2>
 *
 * The base reference belongs to the slot(s) that installed the pwq; every queued item and flush
 * barrier holds one more. All references are taken and dropped under {@code pool.lock}. When
 * the last one goes, {@link #unref()} is running with that pool lock held, and releasing needs
 * the workqueue mutex and the global pool mutex (it may destroy a whole pool and join its
 * threads). So {@code unref} only queues the pwq itself (its embedded release item, {@link
 * #run()}) on the system's
 * {@code pool_workqueue_release} {@link dev.cmwq.kthread.KthreadWorker}, whose lock is
 * independent of every pool lock. Queueing the release as a work item on a workqueue instead
 * would take a pool lock while one is held: the A-A deadlock that Linux 6.6 (patch 07/24,
 * "workqueue: Use a kthread_worker to release pool_workqueues") removed, and that this design
 * keeps impossible. Checked by {@code ApplyAttrsStormTest}.
 */
final class PoolWorkqueue extends KthreadWork {
  /** Stat indices ({@code enum pool_workqueue_stats}) plus FAILED. */
  static final int PWQ_STAT_STARTED = 0;
  static final int PWQ_STAT_COMPLETED = 1;
  static final int PWQ_STAT_CPU_TIME = 2;
  static final int PWQ_STAT_CPU_INTENSIVE = 3;
  static final int PWQ_STAT_CM_WAKEUP = 4;
  static final int PWQ_STAT_REPATRIATED = 5;
  static final int PWQ_STAT_MAYDAY = 6;
  static final int PWQ_STAT_RESCUED = 7;
  static final int PWQ_STAT_FAILED = 8;
  static final int PWQ_NR_STATS = 9;

  /** I: the pool serving this pwq. */
  final WorkerPool pool;
  /** I: the workqueue. */
  final Workqueue wq;

  /** L: colour stamped on newly queued items (0..15; a byte keeps the pwq at 80 B). */
  byte workColor;
  /** L: colour being flushed, -1 when none. */
  byte flushColor = -1;
  /** L: references; see the class comment. */
  int refcnt = 1;
  /**
   * L: per colour, items (and barriers) queued or executing; null until the first item (an
   * idle workqueue's pwqs stay small: ThreadEconomy).
   */
  private int[] nrInFlight;
  /** L: items counted against max_active (on the worklist, scheduled or executing). */
  int nrActive;
  /**
   * L: items waiting for an active slot, FIFO; null until the first item waits (most pwqs never
   * hold an inactive item: ThreadEconomy). Read through {@link #firstInactive()}, {@link
   * #hasInactive()}; written through {@link #inactiveList()}.
   */
  private WorkList inactiveWorks;
  /** L: ordered workqueues only: activate nothing until the older pwqs are gone. */
  boolean plugged;
  /** LN: on the node's pending list; volatile because the release path clears it without the pool lock. */
  volatile boolean onPendingList;
  /** LN: links on the node's pending list. */
  PoolWorkqueue pendingPrev;
  /** LN: links on the node's pending list. */
  PoolWorkqueue pendingNext;
  /** MD: on its workqueue's mayday list (holding a reference). */
  boolean onMayday;
  /** WQ: linked on {@code wq.pwqs}. */
  boolean linked;
  /**
   * L to write (through {@link #addStat}); opaque reads of the elements from any thread. Null
   * until the first statistic; volatile so that a reader that sees the array sees it zeroed.
   */
  private volatile long[] stats;

  PoolWorkqueue(Workqueue wq, WorkerPool pool) {
    this.wq = wq;
    this.pool = pool;
  }

  // ---- statistics -------------------------------------------------------------------------

  /** Adds to a counter. Pool lock held. */
  void addStat(int stat, long delta) {
    assert pool.lock.isHeldByCurrentThread();
    long[] s = stats;
    if (s == null) {
      s = new long[PWQ_NR_STATS];
      stats = s;
    }
    STATS.setOpaque(s, stat, (long) STATS.getOpaque(s, stat) + delta);
  }

  /** Reads a counter from any thread. */
  long stat(int stat) {
    long[] s = stats;
    return s == null ? 0 : (long) STATS.getOpaque(s, stat);
  }

  // ---- flush colours ----------------------------------------------------------------------

  /** Items of {@code color} queued or executing. Pool lock held. */
  int inFlight(int color) {
    int[] n = nrInFlight;
    return n == null ? 0 : n[color];
  }

  /** Counts one more item of {@code color}. Pool lock held. */
  void incInFlight(int color) {
    int[] n = nrInFlight;
    if (n == null) {
      n = new int[Work.WORK_NR_COLORS];
      nrInFlight = n;
    }
    n[color]++;
  }

  // ---- references -------------------------------------------------------------------------

  /** {@code get_pwq}. Pool lock held. */
  void ref() {
    assert pool.lock.isHeldByCurrentThread();
    if (refcnt <= 0) {
      Warn.always("workqueue: get_pwq on a dead pwq of " + wq.name());
    }
    refcnt++;
  }

  /**
   * {@code put_pwq}. Pool lock held. The last reference only hands the release to the
   * {@code pool_workqueue_release} worker; see the class comment for why nothing else may be done
   * here.
   */
  void unref() {
    assert pool.lock.isHeldByCurrentThread();
    if (--refcnt > 0) {
      return;
    }
    pool.system.releaseWorker.queueWork(this);
  }

  /** {@code put_pwq_unlocked}: takes the pool lock around {@link #unref()}. */
  void unrefUnlocked() {
    pool.lock.lock();
    try {
      unref();
    } finally {
      pool.lock.unlock();
    }
  }

  /**
   * {@code pwq_release_workfn}, run on the {@code pool_workqueue_release} thread: unlinks the pwq
   * from its workqueue (unplugging the next one of an ordered workqueue), drops its unbound pool
   * (destroying the pool at zero), leaves the node's pending list, and frees the workqueue after
   * its last pwq.
   */
  @Override
  protected void run() {
    WorkqueueSystem system = pool.system;
    system.noteReleaseStarted(this);
    boolean isLast = false;
    if (linked) {
      isLast = wq.unlinkReleasedPwq(this);
    }
    NodeNrActive nna = wq.nodeNrActive(pool.node);
    if (nna != null) {
      nna.removePending(this);
    }
    if (pool.cpu < 0) {
      system.putUnboundPool(pool);
    }
    if (isLast) {
      wq.free();
    }
  }

  // ---- queueing ---------------------------------------------------------------------------

  /**
   * {@code insert_work}: puts {@code work} on a list before {@code head}, pointing it at this
   * pwq, and takes a reference. Pool lock held.
   */
  void insertWork(Work work, Work head, long flags) {
    work.setWorkPwq(this, flags);
    work.listAddTail(head);
    ref();
  }

  /**
   * {@code insert_wq_barrier}: the barrier goes right after {@code target} (inheriting its
   * colour and any LINKED chain), or, when {@code worker} is executing the target, to the head of
   * that worker's scheduled list with the worker's current colour. Pool lock held.
   */
  void insertWqBarrier(WqBarrier barr, Work target, Worker worker) {
    long flags = Work.WORK_STRUCT_INACTIVE; // barriers never take an active slot
    Work head;
    int color;
    if (worker != null) {
      head = worker.scheduled.next;
      color = worker.currentColor;
    } else {
      long bits = target.data;
      head = target.next;
      flags |= bits & Work.WORK_STRUCT_LINKED;
      color = Work.colorOf(bits);
      target.setLinked();
    }
    incInFlight(color);
    insertWork(barr, head, flags | Work.colorFlags(color));
  }

  // ---- nr_active and activation -----------------------------------------------------------

  /**
   * {@code pwq_tryinc_nr_active}: tries to take an active slot. Per-CPU workqueues count per
   * pwq; unbound ones share the node's {@link NodeNrActive}. {@code fill} ignores the
   * don't-jump-the-line rule (max_active raised, or unplugged). Pool lock held.
   */
  boolean tryincNrActive(boolean fill) {
    NodeNrActive nna = wq.nodeNrActive(pool.node);
    boolean obtained;
    if (nna == null) {
      obtained = nrActive < wq.maxActive;
    } else {
      if (plugged) {
        return false;
      }
      obtained = nna.tryincFor(this, fill);
    }
    if (obtained) {
      nrActive++;
    }
    return obtained;
  }

  /**
   * {@code __pwq_activate_work}: moves an inactive item (and its linked barriers) to the pool
   * worklist. The slot must already be taken. Pool lock held.
   */
  void activateWork(Work work) {
    if (pool.worklist.isEmpty()) {
      pool.worklistFilling();
    }
    work.moveLinkedWorks(pool.worklist);
    // INACTIVE is cleared on the word; the item stays owned (PENDING) and pointed at this pwq.
    work.setWorkPwq(this, work.data & ~(Work.WORK_STRUCT_INACTIVE | Work.WORK_STRUCT_PWQ
        | Work.WORK_STRUCT_PENDING));
    Events.activateWork(wq, work, pool);
  }

  /** {@code pwq_activate_first_inactive}. Pool lock held. */
  boolean activateFirstInactive(boolean fill) {
    Work work = firstInactive();
    if (work != null && tryincNrActive(fill)) {
      activateWork(work);
      return true;
    }
    return false;
  }

  /** {@code pwq_dec_nr_active}: returns an active slot, activating the next waiter. */
  private void decNrActive() {
    nrActive--;
    NodeNrActive nna = wq.nodeNrActive(pool.node);
    if (nna == null) {
      activateFirstInactive(false);
      return;
    }
    nna.decAndActivate(this);
  }

  /**
   * {@code pwq_dec_nr_in_flight}: an item (or barrier) with data word {@code workData} finished
   * or was stolen. Returns its active slot, advances flush colours, drops its reference. Pool
   * lock held; it may be dropped and retaken while activating another pool's item.
   */
  void decNrInFlight(long workData) {
    int color = Work.colorOf(workData);
    if ((workData & Work.WORK_STRUCT_INACTIVE) == 0) {
      decNrActive();
    }
    int[] n = nrInFlight; // allocated by the increment this decrement matches
    n[color]--;
    if (color == flushColor && n[color] == 0) {
      // This pwq is done with the colour being flushed.
      flushColor = -1;
      if (wq.pwqFlushed()) {
        wq.firstFlusher.done.complete();
      }
    }
    unref();
  }

  /** {@code pwq_is_empty}: nothing active and nothing waiting. Pool lock held. */
  boolean isEmpty() {
    return nrActive == 0 && !hasInactive();
  }

  /** The first inactive item, or null. Pool lock held. */
  Work firstInactive() {
    WorkList l = inactiveWorks;
    return l == null ? null : l.first();
  }

  /** Whether items wait for an active slot. Pool lock held. */
  boolean hasInactive() {
    WorkList l = inactiveWorks;
    return l != null && !l.isEmpty();
  }

  /** The inactive list, created for the first item that has to wait. Pool lock held. */
  WorkList inactiveList() {
    WorkList l = inactiveWorks;
    if (l == null) {
      l = new WorkList();
      inactiveWorks = l;
    }
    return l;
  }

  /** Whether any colour has items in flight. Pool lock held. */
  boolean hasInFlight() {
    int[] counts = nrInFlight;
    if (counts == null) {
      return false;
    }
    for (int n : counts) {
      if (n != 0) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "pwq[" + wq.name() + " -> pool " + pool.id + "]";
  }

  private static final VarHandle STATS = MethodHandles.arrayElementVarHandle(long[].class);
}
