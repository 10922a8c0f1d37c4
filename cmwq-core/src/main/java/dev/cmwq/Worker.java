package dev.cmwq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code struct worker}: one kworker thread of a {@link WorkerPool}.
 *
 * <p>A worker is, at any moment, on its pool's idle list, in its pool's busy hash (executing an
 * item), or the pool's manager. Its main loop is {@code worker_thread()}; the hooks
 * {@link #sleepingHook()} / {@link #runningHook()} are {@code wq_worker_sleeping} /
 * {@code wq_worker_running}, called around every blocking wait the library makes and by
 * {@link Workqueues#managedBlock}; the {@link SamplingTick} marks workers that block elsewhere.
 */
final class Worker {
  /** Flag: the worker must exit. */
  static final int WORKER_DIE = 1 << 1;
  /** Flag: on the idle list. */
  static final int WORKER_IDLE = 1 << 2;
  /** Flag: preparing (not yet working); not counted in nr_running. */
  static final int WORKER_PREP = 1 << 3;
  /** Flag: running a CPU-intensive item; not counted in nr_running. */
  static final int WORKER_CPU_INTENSIVE = 1 << 6;
  /** Flag: worker of an unbound (or disassociated) pool; never counted. */
  static final int WORKER_UNBOUND = 1 << 7;
  /** Flag: re-bound after disassociation; cleared at the next cycle start. */
  static final int WORKER_REBOUND = 1 << 8;
  /** Flags that keep a worker out of {@code nr_running}. */
  static final int WORKER_NOT_RUNNING =
      WORKER_PREP | WORKER_CPU_INTENSIVE | WORKER_UNBOUND | WORKER_REBOUND;

  /** {@link #sleeping}: not sleeping. */
  static final int AWAKE = 0;
  /** {@link #sleeping}: blocked in a library wait or {@code managedBlock} (exact hook). */
  static final int SLEEP_HOOK = 1;
  /** {@link #sleeping}: seen blocked by the sampling tick (approximate). */
  static final int SLEEP_TICK = 2;

  /** The worker executing on the current thread ({@code current} + {@code kthread_data}). */
  private static final ThreadLocal<Worker> CURRENT = new ThreadLocal<>();
  /**
   * An unpark from the worker's own CPU this soon after it parked is a quick turn: its queuer
   * wakes it again about as fast as a park-and-wake cycle takes (5 µs here). See
   * {@link #idleWait}.
   */
  private static final long PING_PONG_NANOS = 10_000;
  /** Quick turns in a row after which the worker's idle wait yields instead of spinning. */
  private static final int PING_PONG_TURNS = 4;
  /** Items a turn must run after a yield that caught one for the next idle wait to yield again. */
  private static final int PING_PONG_ITEMS = 8;

  private static final VarHandle WAKE_PENDING;

  static {
    try {
      WAKE_PENDING = MethodHandles.lookup().findVarHandle(Worker.class, "wakePending", boolean.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final boolean CPU_TIME =
      THREADS.isCurrentThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled();

  /**
   * I for pool workers. For a rescuer S: the pool it is attached to while rescuing, null
   * otherwise; other threads read it only under that pool's lock while the rescuer is in the
   * pool's busy hash.
   */
  WorkerPool pool;
  /** I: id within the pool, for the thread name (-1 for a rescuer). */
  final int id;
  /** I: the workqueue a rescuer serves ({@code rescue_wq}); null for pool workers. */
  final Workqueue rescueWq;
  /**
   * MD (system mayday lock): a rescuer's list of pwqs that sent a mayday, in order ({@code
   * wq->maydays}; kept here so that only MEM_RECLAIM workqueues pay for it); null for pool
   * workers.
   */
  final ArrayDeque<PoolWorkqueue> maydays;
  /** V: a rescuer has maydays to look at. */
  private volatile boolean rescuerWake;
  /** V: a rescuer must exit once its mayday list is empty. */
  private volatile boolean rescuerStop;
  /** I: set before the thread starts. */
  Thread thread;

  /** K: item being executed (written by this worker under pool.lock; read under pool.lock). */
  Work currentWork;
  /** K: its function ({@link Work#fn}: a WorkFunction or a Runnable). */
  Object currentFunc;
  /** K: its pwq. */
  PoolWorkqueue currentPwq;
  /** K: its flush colour. */
  int currentColor;
  /** K: function of the last completed item. */
  Object lastFunc;
  /** L: WORKER_* flags; the tick may set CPU_INTENSIVE on a running worker. */
  int flags;
  /** L: {@link #AWAKE}, {@link #SLEEP_HOOK} or {@link #SLEEP_TICK}. */
  int sleeping;
  /** L: items assigned to this worker, run in order. */
  final WorkList scheduled = new WorkList();
  /** L: idle list links. */
  Worker idlePrev;
  /** L: idle list links. */
  Worker idleNext;
  /** L: busy hash chain. */
  Worker hashNext;
  /** L: when the worker last became idle (ns). */
  long lastActive;
  /**
   * L to write; read racily (opaquely) by the worker's own idle poll ({@link #idleWait}),
   * which rechecks it under the lock: a wake-up was sent and not yet consumed.
   */
  boolean wakePending;
  /**
   * L: the worker is polling {@link #wakePending} instead of parking, so {@link #wakeUp} need
   * not unpark it. Set and cleared by the worker with the lock held around the poll; a waker
   * that sees it set only sets wakePending, which the worker finds either in its poll or, once
   * it has cleared this flag, under the lock before it parks.
   */
  boolean spinning;
  /**
   * L: the last unpark came from a thread on this worker's CPU, which a poll could not have
   * caught (the two share the CPU): it shortens the next poll, and a quick one counts towards
   * {@link #quickTurns}.
   */
  boolean wokenFromOwnCpu;
  /** S: quick turns in a row ({@link #PING_PONG_NANOS}; see {@link #idleWait}). */
  private int quickTurns;
  /** S: the last idle wait yielded and caught a wake-up (see {@link #idleWait}). */
  private boolean yieldCaught;
  /** S: {@link #nrStarted} when the worker last left an idle wait. */
  private long startedAtWake;
  /** I: the idle poll (its own state is S: this worker's thread); null for rescuers. */
  final IdleSpin idleSpin;
  /** I: what the idle poll watches (made once, so that a poll allocates nothing). */
  private final BooleanSupplier woken =
      () -> (boolean) WAKE_PENDING.getOpaque(this);
  /** L: number of items started; the tick's progress counter. */
  long nrStarted;
  /** S to write (at thread start), read by the tick: kernel thread id, -1 if unknown. */
  volatile int nativeTid = -1;
  /** S: description set by {@link Workqueues#setWorkerDesc}, reset per item. */
  String desc;

  /** T (under pool.lock): nrStarted when the tick last looked. */
  long tickSeenStarted = -1;
  /** L: thread CPU time when the tick first saw the current item run, -1 if not yet. */
  long tickCpuStart = -1;
  /** T: thread CPU time at the tick's previous look. */
  long tickCpuLast = -1;
  /** L: consecutive looks RUNNABLE without CPU progress (used without /proc). */
  int tickStalled;

  /** S: thread CPU time when the current accounting interval began. */
  private long cpuMark;
  /** S: pwq charged for the current accounting interval. */
  private PoolWorkqueue cpuPwq;

  Worker(WorkerPool pool, int id) {
    this.pool = pool;
    this.id = id;
    this.idleSpin = new IdleSpin(pool.system.idleSpinNanos);
    this.rescueWq = null;
    this.maydays = null;
  }

  /**
   * A rescuer for {@code wq}. It keeps WORKER_PREP for good, so it never counts toward
   * concurrency management.
   */
  Worker(Workqueue wq) {
    this.pool = null;
    this.id = -1;
    this.rescueWq = wq;
    this.maydays = new ArrayDeque<>(1);
    this.flags = WORKER_PREP;
    this.idleSpin = null;
  }

  /** The system this worker belongs to. */
  WorkqueueSystem system() {
    return rescueWq != null ? rescueWq.system : pool.system;
  }

  /** The worker running on this thread, or null. */
  static Worker current() {
    return CURRENT.get();
  }

  /** Thread name, {@code kworker/<cpu>:<id>[H]} or {@code kworker/u<pool>:<id>}. */
  String threadName() {
    if (rescueWq != null) {
      return "kworker/R-" + rescueWq.name();
    }
    if (pool.cpu >= 0) {
      return "kworker/" + pool.cpu + ":" + id + (pool.attrs.nice() < 0 ? "H" : "");
    }
    return "kworker/u" + pool.id + ":" + id;
  }

  // ---- flags (worker_set_flags / worker_clr_flags) ----------------------------------------

  /** Sets flags; entering NOT_RUNNING leaves nr_running. Pool lock held. */
  void setFlags(int f) {
    if ((f & WORKER_NOT_RUNNING) != 0 && (flags & WORKER_NOT_RUNNING) == 0 && sleeping == AWAKE) {
      pool.nrRunning--;
    }
    flags |= f;
  }

  /** Clears flags; leaving NOT_RUNNING joins nr_running. Pool lock held. */
  void clrFlags(int f) {
    int oflags = flags;
    flags &= ~f;
    if ((f & WORKER_NOT_RUNNING) != 0 && (oflags & WORKER_NOT_RUNNING) != 0
        && (flags & WORKER_NOT_RUNNING) == 0 && sleeping == AWAKE) {
      pool.nrRunning++;
    }
  }

  /**
   * Sends a wake-up (pool lock held). Only the first of several before the worker runs costs
   * an unpark, and none does while the worker polls ({@link #spinning}).
   */
  void wakeUp() {
    if (!wakePending) {
      wakePending = true;
      if (!spinning) {
        WorkerPool p = pool;
        if (p != null) {
          p.nrUnparks++;
          // A waker on the worker's own CPU could not have run while the worker polled there.
          wokenFromOwnCpu = p.cpu >= 0 && OsSupport.currentCpu(p.system.topology) == p.cpu;
        }
        LockSupport.unpark(thread);
      }
    }
  }

  // ---- scheduler hooks --------------------------------------------------------------------

  /**
   * {@code wq_worker_sleeping}: the calling worker is about to block. It leaves nr_running and
   * the pool wakes an idle worker if items are waiting. No-op for workers that do not count.
   */
  void sleepingHook() {
    WorkerPool pool = this.pool;
    if (pool == null || pool.cpu < 0 || rescueWq != null) {
      return; // unbound workers and rescuers never count
    }
    pool.lock.lock();
    try {
      if ((flags & WORKER_NOT_RUNNING) != 0 || sleeping != AWAKE) {
        return;
      }
      markSleeping(SLEEP_HOOK);
    } finally {
      pool.lock.unlock();
    }
  }

  /** {@code wq_worker_running}: the calling worker runs again. */
  void runningHook() {
    WorkerPool pool = this.pool;
    if (pool == null || pool.cpu < 0 || rescueWq != null) {
      return;
    }
    pool.lock.lock();
    try {
      markRunning();
    } finally {
      pool.lock.unlock();
    }
  }

  /** Leaves nr_running as sleeping and kicks the pool. Pool lock held; worker counted. */
  void markSleeping(int how) {
    sleeping = how;
    pool.nrRunning--;
    if (pool.kickPool() && currentPwq != null) {
      currentPwq.addStat(PoolWorkqueue.PWQ_STAT_CM_WAKEUP, 1);
    }
  }

  /** Rejoins nr_running after either kind of sleep. Pool lock held. */
  void markRunning() {
    if (sleeping == AWAKE) {
      return;
    }
    sleeping = AWAKE;
    if ((flags & WORKER_NOT_RUNNING) == 0) {
      pool.nrRunning++;
    }
    tickCpuStart = -1; // the CPU-hog clock restarts after a sleep
    tickStalled = 0;
  }

  // ---- worker_thread ----------------------------------------------------------------------

  /** The thread body. */
  void workerThread() {
    CURRENT.set(this);
    OsSupport.bindPoolWorker(pool);
    nativeTid = ProcFs.currentTid(); // after binding: a visible tid means a bound thread
    try {
      loop();
    } finally {
      CURRENT.remove();
    }
  }

  /**
   * {@code worker_thread}: sleep until woken; leave idle; if the pool needs a worker, make sure
   * another one stays in reserve (managing if needed), then take items while
   * {@code keep_working}; return to idle.
   */
  private void loop() {
    WorkerPool pool = this.pool;
    boolean worked = false;
    pool.lock.lock();
    try {
      for (;;) {
        idleWait(worked);
        worked = false;
        wakePending = false;
        if ((flags & WORKER_DIE) != 0) {
          pool.workerIda.clear(id);
          return;
        }
        pool.workerLeaveIdle(this);
        for (;;) {
          if (!pool.needMoreWorker()) {
            break;
          }
          if (!pool.mayStartWorking() && pool.manageWorkers(this)) {
            continue; // conditions may have changed while managing
          }
          clrFlags(WORKER_PREP | WORKER_REBOUND);
          startCpuInterval();
          do {
            Work work = pool.worklist.first();
            if (assignWork(work)) {
              processScheduledWorks();
            }
          } while (pool.keepWorking());
          chargeCpu(null);
          setFlags(WORKER_PREP);
          worked = true;
          break;
        }
        pool.workerEnterIdle(this);
      }
    } finally {
      pool.lock.unlock();
    }
  }

  /**
   * Waits until {@link #wakePending} or {@link #WORKER_DIE} (pool lock held on entry and on
   * return, released while waiting). A worker of a concurrency-managed pool that has just run
   * out of items ({@code worked}) first polls ({@link IdleSpin}) with the lock released,
   * flagged {@link #spinning} so that a waker only sets wakePending; then it parks. An unpark
   * from a thread on the worker's own CPU ({@link #wokenFromOwnCpu}) shortens the next poll:
   * that thread could not run while the worker polled, so polling only delayed it. Unbound pools
   * never poll: every queue there wakes a worker (nothing is concurrency managed), and cheap
   * wake-ups only crowd the pool lock with idle workers (an ordered burst went from 1.1 to 2.2
   * times Guava's time when they polled).
   *
   * <p>A thread on the worker's own CPU that queues items as fast as a park-and-wake cycle
   * makes the two take turns: each unpark lets the worker preempt it, run the one item there is
   * and park again, some 5 µs of switching per item here (a burst queued after another
   * executor's ran at 250 instead of 80 ns per item, the queuer preempted every microsecond).
   * After {@link #PING_PONG_TURNS} such quick turns in a row ({@link #PING_PONG_NANOS}) the
   * worker's idle wait yields instead of spinning ({@link IdleSpin#yieldPoll}): it stays
   * runnable and flagged {@link #spinning}, so the queuer goes on without unparking anyone and
   * without being preempted, and the worker takes the whole batch as soon as the queuer blocks
   * (a burst ends, a flush waits) or its time slice ends. It keeps yielding while a yield
   * catches a batch ({@link #PING_PONG_ITEMS}); a yield that catches a single item ends the
   * mode. The price: a queuer that keeps computing while it queues this fast has its items wait
   * for its time slice (up to a few ms) instead of 5 µs, and gets back the CPU the switching
   * took. Slower queuers (an item every 5 µs or more here) and queuers on other CPUs never
   * trigger it; measured by {@code BusyQueuerProbe} at several gaps (docs/benchmarks.md).
   *
   * <p>No lost wake-up: {@link #spinning} is set and cleared under the lock, and wakers set
   * wakePending under the lock; after clearing the flag the worker rechecks wakePending under
   * the lock before parking, and any later waker unparks; a yielding wait is the same protocol.
   * Checked by {@code IdleSpinTest} (spinning) and {@code PingPongTest} (yielding, native module).
   */
  private void idleWait(boolean worked) {
    boolean missed = false; // polled without catching a wake-up
    if (worked && idleSpin.enabled() && !wakePending && (flags & WORKER_DIE) == 0
        && pool.isConcurrencyManaged()) {
      boolean yield = quickTurns >= PING_PONG_TURNS
          || yieldCaught && nrStarted - startedAtWake >= PING_PONG_ITEMS;
      if (yield) {
        quickTurns = 0;
      }
      spinning = true;
      pool.lock.unlock();
      try {
        missed = !(yield ? idleSpin.yieldPoll(woken) : idleSpin.poll(woken));
      } finally {
        pool.lock.lock();
        spinning = false; // from here on a waker unparks; wakePending is rechecked below
      }
      yieldCaught = yield && !missed;
      pool.nrPolls++;
      if (!missed) {
        pool.nrPollHits++;
        if (yield) {
          pool.nrYieldHits++;
        } else {
          idleSpin.caught();
        }
      }
    }
    long parkedAt = 0;
    while (!wakePending && (flags & WORKER_DIE) == 0) {
      if (parkedAt == 0) {
        parkedAt = System.nanoTime();
      }
      pool.lock.unlock();
      Thread.interrupted(); // a stray interrupt would turn park into a spin
      LockSupport.park(this);
      pool.lock.lock();
    }
    if (parkedAt != 0) {
      long slept = System.nanoTime() - parkedAt;
      quickTurns = wokenFromOwnCpu && slept < PING_PONG_NANOS ? quickTurns + 1 : 0;
      yieldCaught = false;
      if (missed) {
        idleSpin.parked(wokenFromOwnCpu ? Long.MAX_VALUE : slept);
      }
    }
    startedAtWake = nrStarted;
  }

  /**
   * {@code assign_work}: takes {@code work} (and its linked barriers) onto this worker's
   * scheduled list, unless another worker of the pool is executing the same item, in which case
   * it is handed to that worker (non-reentrancy within a pool). Pool lock held.
   */
  boolean assignWork(Work work) {
    Worker collision = pool.findWorkerExecutingWork(work);
    if (collision != null) {
      work.moveLinkedWorks(collision.scheduled);
      return false;
    }
    work.moveLinkedWorks(scheduled);
    return true;
  }

  /** {@code process_scheduled_works}. Pool lock held. */
  void processScheduledWorks() {
    boolean first = true;
    Work work;
    while ((work = scheduled.first()) != null) {
      if (first) {
        pool.touchWatchdog();
        first = false;
      }
      processOneWork(work);
    }
  }

  /**
   * {@code process_one_work}: executes one item. Called and returns with the pool lock held;
   * drops it around the function. After the function returns the item is never touched again
   * (it may have been requeued, or become garbage): only the locals saved here are used.
   */
  void processOneWork(Work work) {
    PoolWorkqueue pwq = work.pwq;
    Workqueue wq = pwq.wq;
    pool.busyHashAdd(this, work);
    long workData = work.data;
    currentWork = work;
    currentFunc = work.fn;
    currentPwq = pwq;
    currentColor = Work.colorOf(workData);
    desc = null;
    work.listDelInit();
    if ((wq.flags & Workqueue.WQ_CPU_INTENSIVE) != 0) {
      setFlags(WORKER_CPU_INTENSIVE);
    }
    // Concurrency-managed workers are running, so this is a no-op for them; for unbound and
    // CPU-intensive workers it wakes the next idle worker, chaining execution.
    pool.kickPool();
    // Last touch of the item: off queue, last pool recorded, PENDING released (a full fence).
    work.setWorkPoolAndClearPending(pool.id, 0);
    // Flush barriers are bookkeeping, not the user's items: the kernel counts them, we do not.
    boolean counted = !(work instanceof WqBarrier);
    if (counted) {
      pwq.addStat(PoolWorkqueue.PWQ_STAT_STARTED, 1);
    }
    nrStarted++;
    if (pwq != cpuPwq) {
      chargeCpu(pwq);
    }
    Object fn = currentFunc; // kept for lastFunc: the item is not touched after its function
    pool.lock.unlock();
    Events.ExecuteWork trace = counted ? Events.executeStart() : null;
    Class<?> traced = trace != null ? work.functionClass() : null;
    Throwable failure = null;
    try {
      work.callFunction();
    } catch (Throwable t) {
      failure = t;
    }
    Thread.interrupted(); // interrupts do not outlive the item
    if (trace != null) {
      Events.executeEnd(trace, wq, traced, pool, failure != null);
    }
    if (failure != null) {
      wq.handleException(work, failure);
    }
    pool.lock.lock();
    markRunning(); // undo a mark the tick may have left
    if (counted) {
      pwq.addStat(PoolWorkqueue.PWQ_STAT_COMPLETED, 1);
    }
    if (failure != null) {
      pwq.addStat(PoolWorkqueue.PWQ_STAT_FAILED, 1);
    }
    clrFlags(WORKER_CPU_INTENSIVE);
    lastFunc = fn;
    pool.busyHashRemove(this);
    currentWork = null;
    currentFunc = null;
    currentPwq = null;
    pwq.decNrInFlight(workData);
  }

  // ---- rescuer_thread --------------------------------------------------------------------

  /**
   * {@code rescuer_thread}: sleeps until a pool of its workqueue sends a mayday; then, for
   * every pwq on the mayday list, attaches to the pwq's pool, takes all of that pwq's items on
   * the worklist and runs them. The list is emptied before exiting on stop.
   */
  void rescuerThread() {
    CURRENT.set(this);
    OsSupport.bindRescuer(rescueWq);
    nativeTid = ProcFs.currentTid();
    Workqueue wq = rescueWq;
    WorkqueueSystem system = wq.system;
    try {
      for (;;) {
        boolean shouldStop = rescuerStop; // read first: the list is drained before exiting
        system.maydayLock.lock();
        try {
          PoolWorkqueue pwq;
          while ((pwq = maydays.pollFirst()) != null) {
            pwq.onMayday = false;
            system.maydayLock.unlock();
            try {
              rescue(pwq);
            } finally {
              system.maydayLock.lock();
            }
          }
        } finally {
          system.maydayLock.unlock();
        }
        if (shouldStop) {
          return;
        }
        while (!rescuerWake && !rescuerStop) {
          Thread.interrupted();
          LockSupport.park(this);
        }
        rescuerWake = false;
      }
    } finally {
      CURRENT.remove();
    }
  }

  /** Rescues the items of one pwq that sent a mayday; drops the mayday's reference. */
  private void rescue(PoolWorkqueue pwq) {
    WorkerPool pool = pwq.pool;
    this.pool = pool; // worker_attach_to_pool
    pool.lock.lock();
    try {
      // Slurp in every item of this pwq on the worklist (with linked barriers).
      for (Work w = pool.worklist.first(); w != null && w != pool.worklist; ) {
        if (w.pwq == pwq) {
          Worker collision = pool.findWorkerExecutingWork(w);
          Work n = w.moveLinkedWorks(collision != null ? collision.scheduled : scheduled);
          if (collision == null && !(w instanceof WqBarrier)) {
            pwq.addStat(PoolWorkqueue.PWQ_STAT_RESCUED, 1);
          }
          w = n;
        } else {
          w = w.next;
        }
      }
      if (!scheduled.isEmpty()) {
        startCpuInterval();
        processScheduledWorks();
        chargeCpu(null);
        // Items activated or chained meanwhile would wait another MAYDAY_INTERVAL: if the
        // pool is still starved, ask again at once.
        if (pwq.nrActive > 0 && pool.needToCreateWorker()) {
          WorkqueueSystem system = pool.system;
          system.maydayLock.lock();
          try {
            Worker r = pwq.wq.rescuer;
            if (r != null && !pwq.onMayday) {
              pwq.ref();
              pwq.onMayday = true;
              r.maydays.addLast(pwq);
            }
          } finally {
            system.maydayLock.unlock();
          }
        }
      }
      pwq.unref(); // the reference taken by send_mayday
      pool.kickPool(); // let a regular worker continue, if one can
    } finally {
      pool.lock.unlock();
      this.pool = null; // worker_detach_from_pool
    }
  }

  /** Wakes a sleeping rescuer. */
  void wakeRescuer() {
    rescuerWake = true;
    LockSupport.unpark(thread);
  }

  /** Stops a rescuer ({@code kthread_stop}) and waits for its thread to exit. */
  void stopRescuer() {
    rescuerStop = true;
    unparkUntilExit(thread);
  }

  /**
   * Unparks {@code t} until it has exited, repeatedly (a single unpark can be swallowed by a
   * lock acquisition in its loop); an interrupt meanwhile is kept for the caller.
   */
  static void unparkUntilExit(Thread t) {
    boolean interrupted = false;
    while (t.isAlive()) {
      LockSupport.unpark(t);
      try {
        t.join(10);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- CPU time accounting (PWQ_STAT_CPU_TIME) --------------------------------------------

  /*
   * The kernel samples CPU time at every scheduler tick. Reading a thread's CPU clock costs a
   * system call, too much per item, so a worker reads it only when the pwq it is charging
   * changes and when a batch ends: a burst of items of one workqueue costs two reads in all.
   * Everything the worker spends between two reads is charged to the pwq of that interval.
   */

  private void startCpuInterval() {
    cpuPwq = null;
    cpuMark = CPU_TIME ? THREADS.getCurrentThreadCpuTime() : 0;
  }

  /** Charges the interval so far to its pwq and starts charging {@code next}. Pool lock held. */
  private void chargeCpu(PoolWorkqueue next) {
    if (CPU_TIME) {
      long now = THREADS.getCurrentThreadCpuTime();
      if (cpuPwq != null && now > cpuMark) {
        cpuPwq.addStat(PoolWorkqueue.PWQ_STAT_CPU_TIME, now - cpuMark);
      }
      cpuMark = now;
    }
    cpuPwq = next;
  }

  /** CPU time of this worker's thread in ns, or -1 (tick thread). */
  long threadCpuTime() {
    return CPU_TIME ? THREADS.getThreadCpuTime(thread.getId()) : -1;
  }

  @Override
  public String toString() {
    return thread == null ? "worker " + pool.id + ":" + id : thread.getName();
  }
}
