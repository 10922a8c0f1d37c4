package dev.cmwq;

import dev.cmwq.timer.TimerBase;
import dev.cmwq.timer.TimerList;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code struct worker_pool}: a set of worker threads serving one worklist. Per-CPU pools (a
 * normal and a high-priority one per CPU) are concurrency managed: they keep about one worker
 * running and wake another only when the running one blocks. Unbound pools (shared by every
 * pwq with equal {@link PoolAttrs}) are not: every queued item may wake a worker.
 *
 * <p>Almost everything here is guarded by {@link #lock} (code {@code L}).
 */
final class WorkerPool {
  /** One worker is managing the pool (creating workers). */
  static final int POOL_MANAGER_ACTIVE = 1 << 1;
  /** Not bound to a CPU: workers carry WORKER_UNBOUND and never count in nr_running. */
  static final int POOL_DISASSOCIATED = 1 << 2;

  /** Pools per CPU: normal and high priority ({@code NR_STD_WORKER_POOLS}). */
  static final int NR_STD_WORKER_POOLS = 2;
  /** Idle workers kept per busy worker, beyond the two kept in reserve. */
  static final int MAX_IDLE_WORKERS_RATIO = 4;
  /** Back-off after a failed worker creation ({@code CREATE_COOLDOWN}): 1 s. */
  static final long CREATE_COOLDOWN_NANOS = TimeUnit.SECONDS.toNanos(1);
  /** {@code MAYDAY_INITIAL_TIMEOUT}: help is called 10 ms after worker creation started failing. */
  static final long MAYDAY_INITIAL_TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  /** {@code MAYDAY_INTERVAL}: then every 100 ms while it keeps failing. */
  static final long MAYDAY_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  /** Nice level of the high-priority pools ({@code HIGHPRI_NICE_LEVEL}). */
  static final int HIGHPRI_NICE_LEVEL = -20;
  private static final int BUSY_WORKER_HASH_SIZE = 64;

  /** I: owning system. */
  final WorkqueueSystem system;
  /** I: id, stored in off-queue work data. */
  final int id;
  /** I: the CPU of a per-CPU pool, -1 for unbound pools. */
  final int cpu;
  /** I: NUMA node, -1 when the pool spans nodes. */
  final int node;
  /** I: nice level and CPUs. */
  final PoolAttrs attrs;
  /** The pool lock ({@code pool->lock}). */
  final PoolLock lock;
  /** Signalled when the manager role is released. */
  private final Condition managerReleased;

  /** L: POOL_* flags. */
  int flags;
  /**
   * L: forward-progress events (a worker starting a batch, items arriving at an empty
   * worklist). The kernel stamps {@code watchdog_ts = jiffies} at each, a plain store; reading
   * the clock per item is not free here (about 12 ns of the worker's time per item in a
   * QueueWorkBurst profile), so the hot paths count, and whoever looks turns a change into a
   * time ({@link #stallClock}). Checked by DumpWatchdogTest (reports a stall, stays quiet for a
   * backlogged pool that progresses).
   */
  private long progress;
  /** L: {@link #progress} when {@link #watchdogTs} was last brought up to date. */
  private long progressSeen;
  /** L: when progress was last seen (ns): the start of a possible stall. */
  private long watchdogTs = System.nanoTime();
  /** L: workers running and counted for concurrency. */
  int nrRunning;
  /** L: active items ready to run, FIFO across pwqs. */
  final WorkList worklist = new WorkList();
  /** L: workers of the pool (not counting dying ones). */
  int nrWorkers;
  /** L: idle workers. */
  int nrIdle;
  /**
   * L: wake-ups that had to unpark a worker (the rest found it polling, see
   * {@code Worker.idleWait}); read by IdleSpinTest.
   */
  long nrUnparks;
  /** L: idle polls its workers made, and those that caught a wake-up (IdleSpinTest). */
  long nrPolls;
  /** L: see {@link #nrPolls}. */
  long nrPollHits;
  /** L: hits of idle polls that yielded ({@code Worker.idleWait}); read by PingPongTest. */
  long nrYieldHits;
  /** L: idle list head (most recently idle first, LIFO). */
  private Worker idleFirst;
  /** L: idle list tail (longest idle). */
  private Worker idleLast;
  /** L: executing workers by item identity. */
  private final Worker[] busyHash = new Worker[BUSY_WORKER_HASH_SIZE];
  /** L: every attached worker. */
  final List<Worker> workers = new ArrayList<>();
  /** L: worker ids in use. */
  final BitSet workerIda = new BitSet();
  /** L: the current manager, for dumps. */
  Worker manager;
  /** I: {@code pool->mayday_timer}, on the system's timer base. */
  final MaydayTimer maydayTimer = new MaydayTimer();
  /** L: idle-timer expiry (ns), 0 when not armed. */
  long idleTimerExpires;
  /** L: destroyed; workers are told to die. */
  boolean dead;
  /** PL: pwqs using this unbound pool. */
  int refcnt = 1;

  WorkerPool(WorkqueueSystem system, int cpu, int node, PoolAttrs attrs) {
    this.system = system;
    this.cpu = cpu;
    this.node = node;
    this.attrs = attrs;
    if (cpu < 0) {
      flags |= POOL_DISASSOCIATED;
    }
    this.id = Idr.reserve();
    this.lock = cpu < 0 ? new PoolLock.Adaptive("pool " + id) : new PoolLock("pool " + id);
    this.managerReleased = lock.newCondition();
    // Last: lock-free readers (get_work_pool of an item whose recorded id this pool now reuses)
    // must never see a pool without its lock. Found by cmwq-stress "attrs".
    Idr.publish(id, this);
  }

  // ---- pool ids (worker_pool_idr) ---------------------------------------------------------

  /** The pool with id {@code id}, or null if it is gone. */
  static WorkerPool byId(int id) {
    WorkerPool[] t = Idr.table;
    return id < t.length ? t[id] : null;
  }

  /**
   * {@code worker_pool_idr}: ids are global across systems, so an item's off-queue pool id stays
   * meaningful whatever system it is used with; freed ids are reused lowest-first.
   */
  private static final class Idr {
    private static final BitSet USED = new BitSet();
    /** Copy-on-write; a volatile array so lock-free readers see fully built pools. */
    static volatile WorkerPool[] table = new WorkerPool[64];

    /** Takes the lowest free id; the pool is published under it by {@link #publish}. */
    static synchronized int reserve() {
      int id = USED.nextClearBit(0);
      if (id >= Work.WORK_OFFQ_POOL_NONE) {
        throw new IllegalStateException("out of worker pool ids");
      }
      USED.set(id);
      return id;
    }

    /** Makes a fully constructed pool visible to {@link #byId} (volatile array write). */
    static synchronized void publish(int id, WorkerPool pool) {
      WorkerPool[] t = table;
      WorkerPool[] n = java.util.Arrays.copyOf(t, Math.max(t.length, Integer.highestOneBit(id) * 2));
      n[id] = pool;
      table = n;
    }

    static synchronized void free(int id) {
      WorkerPool[] n = table.clone();
      n[id] = null;
      table = n;
      USED.clear(id);
    }
  }

  // ---- policy predicates (evaluated under the lock) ---------------------------------------

  /** Items wait and nobody is running. */
  boolean needMoreWorker() {
    return !worklist.isEmpty() && nrRunning == 0;
  }

  /** Another idle worker stays in reserve if this one starts. */
  boolean mayStartWorking() {
    return nrIdle > 0;
  }

  /** A running worker may take another item. */
  boolean keepWorking() {
    return !worklist.isEmpty() && nrRunning <= 1;
  }

  /** A worker is needed and none is idle. */
  boolean needToCreateWorker() {
    return needMoreWorker() && !mayStartWorking();
  }

  /** Idle workers beyond 2 + busy/4 ({@code too_many_workers}). */
  boolean tooManyWorkers() {
    boolean managing = (flags & POOL_MANAGER_ACTIVE) != 0;
    int idle = nrIdle + (managing ? 1 : 0);
    int busy = nrWorkers - idle;
    return idle > 2 && (idle - 2) * MAX_IDLE_WORKERS_RATIO >= busy;
  }

  /** Whether this pool is concurrency managed (per-CPU and associated). */
  boolean isConcurrencyManaged() {
    return (flags & POOL_DISASSOCIATED) == 0;
  }

  // ---- waking workers ---------------------------------------------------------------------

  /**
   * {@code kick_pool}: wakes the most recently idled worker if items wait and nobody runs.
   * Returns whether a worker was woken. Pool lock held.
   */
  boolean kickPool() {
    Worker w = idleFirst;
    if (w == null || !needMoreWorker()) {
      return false;
    }
    w.wakeUp();
    return true;
  }

  /** The worklist goes from empty to non-empty: forward progress, and the tick may be needed. */
  void worklistFilling() {
    progress++;
    if (isConcurrencyManaged()) {
      system.tick.workArrived();
    }
  }

  /** Records forward progress for the watchdog. */
  void touchWatchdog() {
    progress++;
  }

  /**
   * The start of the current stall, as of {@code now}: {@code now} itself if there was progress
   * since the last look. Seen by the watchdog every quarter threshold, so a stall is reported
   * at most a quarter threshold later than with a stamp per event. Pool lock held.
   */
  long stallClock(long now) {
    if (progress != progressSeen) {
      progressSeen = progress;
      watchdogTs = now;
    }
    return watchdogTs;
  }

  // ---- idle list --------------------------------------------------------------------------

  /** {@code worker_enter_idle}. Pool lock held. */
  void workerEnterIdle(Worker w) {
    w.flags |= Worker.WORKER_IDLE;
    nrIdle++;
    long now = System.nanoTime();
    w.lastActive = now;
    w.idlePrev = null;
    w.idleNext = idleFirst;
    if (idleFirst != null) {
      idleFirst.idlePrev = w;
    } else {
      idleLast = w;
    }
    idleFirst = w;
    if (idleTimerExpires == 0 && tooManyWorkers()) {
      armIdleTimer(now + system.idleTimeoutNanos);
    }
    if (nrWorkers == nrIdle && nrRunning != 0) {
      Warn.once("nr_running-idle", "workqueue: pool " + id + " is idle with nr_running=" + nrRunning);
    }
  }

  /** {@code worker_leave_idle}. Pool lock held. */
  void workerLeaveIdle(Worker w) {
    if ((w.flags & Worker.WORKER_IDLE) == 0) {
      return;
    }
    w.flags &= ~Worker.WORKER_IDLE;
    nrIdle--;
    unlinkIdle(w);
  }

  private void unlinkIdle(Worker w) {
    if (w.idlePrev != null) {
      w.idlePrev.idleNext = w.idleNext;
    } else {
      idleFirst = w.idleNext;
    }
    if (w.idleNext != null) {
      w.idleNext.idlePrev = w.idlePrev;
    } else {
      idleLast = w.idlePrev;
    }
    w.idlePrev = null;
    w.idleNext = null;
  }

  /** Idle workers, most recent first (dumps and tests). Pool lock held. */
  List<Worker> idleWorkers() {
    List<Worker> l = new ArrayList<>();
    for (Worker w = idleFirst; w != null; w = w.idleNext) {
      l.add(w);
    }
    return l;
  }

  private void armIdleTimer(long expires) {
    idleTimerExpires = expires;
    system.tick.armIdleTimer(this, expires);
  }

  /**
   * {@code idle_worker_timeout} + {@code idle_cull_fn}, run by the tick when the idle timer may
   * have expired: while there are too many idle workers, the longest-idle one dies if it has
   * been idle for the timeout. Returns the expiry the timer stays armed for, 0 if disarmed.
   */
  long idleTimerExpired(long now) {
    lock.lock();
    try {
      if (dead || idleTimerExpires == 0) {
        idleTimerExpires = 0;
        system.tick.idleTimerDisarmed(this);
        return 0;
      }
      if (now < idleTimerExpires) {
        return idleTimerExpires;
      }
      idleTimerExpires = 0;
      while (tooManyWorkers()) {
        Worker w = idleLast;
        long expires = w.lastActive + system.idleTimeoutNanos;
        if (now < expires) {
          idleTimerExpires = expires;
          return expires;
        }
        setWorkerDying(w);
      }
      system.tick.idleTimerDisarmed(this);
      return 0;
    } finally {
      lock.unlock();
    }
  }

  /** {@code set_worker_dying}: an idle worker leaves the pool and exits. Pool lock held. */
  private void setWorkerDying(Worker w) {
    nrWorkers--;
    nrIdle--;
    w.flags &= ~Worker.WORKER_IDLE;
    w.flags |= Worker.WORKER_DIE;
    unlinkIdle(w);
    workers.remove(w);
    w.wakeUp();
  }

  // ---- busy hash --------------------------------------------------------------------------

  private static int hash(Work work) {
    return System.identityHashCode(work) & (BUSY_WORKER_HASH_SIZE - 1);
  }

  void busyHashAdd(Worker w, Work work) {
    int h = hash(work);
    w.hashNext = busyHash[h];
    busyHash[h] = w;
  }

  void busyHashRemove(Worker w) {
    int h = hash(w.currentWork);
    Worker prev = null;
    for (Worker x = busyHash[h]; x != null; prev = x, x = x.hashNext) {
      if (x == w) {
        if (prev == null) {
          busyHash[h] = x.hashNext;
        } else {
          prev.hashNext = x.hashNext;
        }
        w.hashNext = null;
        return;
      }
    }
  }

  /**
   * {@code find_worker_executing_work}: the worker of this pool executing {@code work} with the
   * same function, or null. Pool lock held.
   */
  Worker findWorkerExecutingWork(Work work) {
    for (Worker w = busyHash[hash(work)]; w != null; w = w.hashNext) {
      if (w.currentWork == work && w.currentFunc == work.fn) {
        return w;
      }
    }
    return null;
  }

  /** Workers executing an item (dumps, tick). Pool lock held. */
  List<Worker> busyWorkers() {
    List<Worker> l = new ArrayList<>();
    for (Worker head : busyHash) {
      for (Worker w = head; w != null; w = w.hashNext) {
        l.add(w);
      }
    }
    return l;
  }

  // ---- manager and worker creation --------------------------------------------------------

  /**
   * {@code manage_workers}: become the manager, unless another worker is, and create workers
   * until one is idle. Returns false if someone else manages (the caller then just works).
   * Pool lock held; dropped and retaken.
   */
  boolean manageWorkers(Worker w) {
    if ((flags & POOL_MANAGER_ACTIVE) != 0) {
      return false;
    }
    flags |= POOL_MANAGER_ACTIVE;
    manager = w;
    try {
      maybeCreateWorker();
    } finally {
      manager = null;
      flags &= ~POOL_MANAGER_ACTIVE;
      managerReleased.signalAll();
    }
    return true;
  }

  /**
   * {@code maybe_create_worker}: create a worker; after a failure wait {@code CREATE_COOLDOWN}
   * and retry while one is still needed. Pool lock held; dropped while creating.
   */
  private void maybeCreateWorker() {
    do {
      lock.unlock();
      try {
        // If no worker appears within MAYDAY_INITIAL_TIMEOUT, rescuers are called.
        system.timers.mod(maydayTimer, TimerBase.deadline(MAYDAY_INITIAL_TIMEOUT_NANOS));
        for (;;) {
          if (createWorker() != null) {
            break;
          }
          LockSupport.parkNanos(this, CREATE_COOLDOWN_NANOS);
          lock.lock();
          boolean stillNeeded = needToCreateWorker() && !dead;
          lock.unlock();
          if (!stillNeeded) {
            break;
          }
        }
        maydayTimer.deleteSync();
      } finally {
        lock.lock();
      }
    } while (needToCreateWorker() && !dead);
  }

  // ---- mayday ---------------------------------------------------------------------------

  /** {@code pool->mayday_timer}. */
  final class MaydayTimer extends TimerList {
    @Override
    protected void fire() {
      maydayTimeout();
    }
  }

  /**
   * {@code pool_mayday_timeout}: still unable to create a worker, so every MEM_RECLAIM
   * workqueue with an item on the worklist gets its pwq sent to its rescuer; again in 100 ms.
   */
  private void maydayTimeout() {
    lock.lock();
    try {
      if (needToCreateWorker() && !dead) {
        system.maydayLock.lock();
        try {
          for (Work w = worklist.first(); w != null && w != worklist; w = w.next) {
            sendMayday(w);
          }
        } finally {
          system.maydayLock.unlock();
        }
      }
    } finally {
      lock.unlock();
    }
    system.timers.mod(maydayTimer, TimerBase.deadline(MAYDAY_INTERVAL_NANOS));
  }

  /**
   * {@code send_mayday}: puts the item's pwq on its workqueue's mayday list (once, holding a
   * reference) and wakes the rescuer. Pool lock and mayday lock held.
   */
  void sendMayday(Work work) {
    PoolWorkqueue pwq = work.pwq;
    Worker r = pwq.wq.rescuer;
    if (r == null || pwq.onMayday) {
      return;
    }
    pwq.ref();
    pwq.onMayday = true;
    r.maydays.addLast(pwq);
    pwq.addStat(PoolWorkqueue.PWQ_STAT_MAYDAY, 1);
    r.wakeRescuer();
  }

  /**
   * {@code create_worker}: makes a thread through the system's factory, names it, starts it
   * and enters it idle. Returns null (logged once per pool) when the factory fails, returns null
   * or the thread cannot start. Called without the pool lock.
   */
  Worker createWorker() {
    int wid;
    lock.lock();
    try {
      wid = workerIda.nextClearBit(0);
      workerIda.set(wid);
    } finally {
      lock.unlock();
    }
    Worker w = new Worker(this, wid);
    Thread t = null;
    try {
      t = system.threadFactory.newThread(w::workerThread);
      if (t == null) {
        throw new IllegalStateException("the thread factory returned null");
      }
      t.setName(w.threadName());
      w.thread = t;
      t.start(); // the thread parks until the wake-up below
    } catch (Throwable e) {
      lock.lock();
      try {
        workerIda.clear(wid);
      } finally {
        lock.unlock();
      }
      Warn.once("create-worker-" + id, "workqueue: failed to create a worker for pool " + id
          + " (" + describe() + "): " + e);
      return null;
    }
    lock.lock();
    try {
      if (cpu < 0) {
        w.flags |= Worker.WORKER_UNBOUND;
      }
      w.flags |= Worker.WORKER_PREP;
      workers.add(w);
      nrWorkers++;
      if (dead) {
        // The pool died while the thread was being made: let it exit at once.
        nrWorkers--;
        workers.remove(w);
        w.flags |= Worker.WORKER_DIE;
      } else {
        workerEnterIdle(w);
      }
      w.wakeUp();
    } finally {
      lock.unlock();
    }
    return w;
  }

  // ---- destruction ------------------------------------------------------------------------

  /**
   * Destroys the pool ({@code put_unbound_pool} at zero, or system close): takes the manager
   * role for good, tells every worker to die and waits for their threads to exit. Called
   * without the pool lock; the pool must have no pwqs left.
   */
  void destroy() {
    Idr.free(id);
    List<Thread> threads = new ArrayList<>();
    lock.lock();
    try {
      while ((flags & POOL_MANAGER_ACTIVE) != 0) {
        managerReleased.awaitUninterruptibly();
      }
      flags |= POOL_MANAGER_ACTIVE;
      dead = true;
      idleTimerExpires = 0;
      if (!worklist.isEmpty()) {
        Warn.always("workqueue: destroying pool " + id + " with a non-empty worklist");
      }
      for (Worker w : new ArrayList<>(workers)) {
        if ((w.flags & Worker.WORKER_IDLE) == 0) {
          Warn.always("workqueue: destroying pool " + id + " while " + w + " is busy");
          continue;
        }
        threads.add(w.thread);
        setWorkerDying(w);
      }
    } finally {
      lock.unlock();
    }
    system.tick.cancelIdleTimer(this);
    for (Thread t : threads) {
      if (t != Thread.currentThread()) {
        joinUninterruptibly(t);
      }
    }
  }

  private static void joinUninterruptibly(Thread t) {
    boolean interrupted = false;
    for (;;) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(30));
        if (t.isAlive()) {
          Warn.always("workqueue: " + t.getName() + " did not exit within 30 s");
        }
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- description ------------------------------------------------------------------------

  /** {@code cpus=<list> [node=<n>] flags=0x<f> nice=<n>}, as the kernel prints pools. */
  String describe() {
    StringBuilder sb = new StringBuilder("cpus=").append(attrs.cpumask().toList());
    if (node >= 0) {
      sb.append(" node=").append(node);
    }
    sb.append(" flags=0x").append(Integer.toHexString(flags)).append(" nice=").append(attrs.nice());
    return sb.toString();
  }

  @Override
  public String toString() {
    return "pool " + id + " (" + describe() + ")";
  }
}
