package dev.cmwq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The system's {@code wq_worker_tick} thread: the JVM stand-in for the scheduler hooks the kernel
 * gets for free, plus the pools' idle timers.
 *
 * <h2>Concurrency management by sampling</h2>
 *
 * The JVM does not say when a thread blocks. Blocking calls made through the library (and
 * {@link Workqueues#managedBlock}) call the exact hooks; for everything else this thread looks,
 * every {@value #TICK_MILLIS} ms, at the running workers of each per-CPU pool that has items
 * waiting. A worker that started an item since the last look is making progress and costs
 * nothing more. One still on the same item is checked: parked, waiting or blocked (its
 * {@link Thread.State}) means sleeping. RUNNABLE without CPU-time progress is either preempted
 * (still running, as for the kernel) or blocked in native code (I/O, sleeping): Linux's
 * {@code /proc} state tells which (R versus S/D); without {@code /proc}, {@value #STALL_TICKS}
 * such looks in a row count as blocked.
 * Either way the worker leaves nr_running and the pool wakes another
 * ({@code PWQ_STAT_CM_WAKEUP}); when it runs again it rejoins. A worker that has burned the
 * CPU-intensive threshold on one item is marked CPU intensive ({@code wq_worker_tick}).
 *
 * <p>With no pool waiting, the thread parks until queueing fills an empty worklist of a
 * concurrency-managed pool or an idle timer is due: an idle system costs no wake-ups.
 *
 * <p>Memory ordering of parking (Dekker): this thread writes {@link #parked} (volatile) and then
 * checks every per-CPU worklist under its pool lock; queueing fills a worklist under the pool
 * lock and then reads {@code parked}. Whichever pool-lock section comes second sees the other's
 * write, so work never waits behind a parked tick. Because lock acquisition may consume the
 * unpark permit, the tick re-reads {@code parked} (cleared by the waker) after its scan instead
 * of relying on the permit alone. Checked by
 * {@code ConcurrencyManagementTest.plainSleepIsDetectedByTheTick}.
 */
final class SamplingTick implements Runnable {
  /** Sampling period while work waits. */
  static final long TICK_MILLIS = 1;
  /** Looks without CPU progress before a RUNNABLE worker counts as blocked. */
  static final int STALL_TICKS = 3;
  private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
  /** How many work functions the CPU-hog report tracks ({@code WCI_MAX_ENTS}). */
  private static final int HOG_REPORT_MAX = 128;
  /** {@code workqueue.cpu_intensive_warning_thresh}. */
  private static final int HOG_REPORT_THRESH = 4;

  private final WorkqueueSystem system;
  /** I after start: the thread. */
  private Thread thread;
  /** I after start: the concurrency-managed pools. */
  private WorkerPool[] cpuPools = new WorkerPool[0];
  /** V: the thread is parked (or about to) with nothing to sample. */
  private volatile boolean parked;
  /** V: stop requested. */
  private volatile boolean stopped;
  /** V: whether blocked workers are looked for (tests isolate the exact hooks by clearing it). */
  volatile boolean samplingEnabled = true;
  /** V: earliest armed timer (ns), Long.MAX_VALUE when none. */
  private volatile long nextTimer = Long.MAX_VALUE;
  /** T: when the watchdog looks next (ns). */
  private long nextWatchdog;
  /** V (concurrent set): pools with an armed idle timer. */
  private final Set<WorkerPool> idleTimers = ConcurrentHashMap.newKeySet();
  /** V (concurrent map): per work-function count of CPU hogs, for the report. */
  private final Map<String, AtomicInteger> hogCounts = new ConcurrentHashMap<>();

  /** V: lockups reported by the watchdog. */
  final AtomicLong lockups = new AtomicLong();
  /** V: times arriving work woke the parked tick. */
  final AtomicLong wakeups = new AtomicLong();
  /** V: sampling rounds done. */
  final AtomicLong rounds = new AtomicLong();

  SamplingTick(WorkqueueSystem system) {
    this.system = system;
  }

  void start(List<WorkerPool> pools) {
    cpuPools = pools.toArray(new WorkerPool[0]);
    nextWatchdog = System.nanoTime() + system.watchdogThreshNanos;
    Thread t;
    try {
      t = system.threadFactory.newThread(this);
      if (t == null) {
        throw new IllegalStateException("the thread factory returned null");
      }
      t.setName("wq_worker_tick");
      t.start();
    } catch (RuntimeException | Error e) {
      throw new IllegalStateException("cannot create the wq_worker_tick thread", e);
    }
    thread = t;
  }

  void stop() {
    stopped = true;
    Thread t = thread;
    if (t != null) {
      Worker.unparkUntilExit(t);
    }
  }

  /** Whether the tick is parked with nothing to sample (tests). */
  boolean isParked() {
    return parked;
  }

  /** A concurrency-managed worklist became non-empty. Pool lock held. */
  void workArrived() {
    if (parked && PARKED.compareAndSet(this, true, false)) {
      wakeups.incrementAndGet();
      LockSupport.unpark(thread);
    }
  }

  /** Arms {@code pool}'s idle timer for {@code expires}. Pool lock held. */
  void armIdleTimer(WorkerPool pool, long expires) {
    idleTimers.add(pool);
    for (;;) {
      long n = nextTimer;
      if (expires >= n) {
        return;
      }
      if (NEXT_TIMER.compareAndSet(this, n, expires)) {
        Thread t = thread;
        if (t != null) {
          LockSupport.unpark(t);
        }
        return;
      }
    }
  }

  void cancelIdleTimer(WorkerPool pool) {
    idleTimers.remove(pool);
  }

  /** Pool lock held: the pool's timer is disarmed, forget it. */
  void idleTimerDisarmed(WorkerPool pool) {
    idleTimers.remove(pool);
  }

  @Override
  public void run() {
    while (!stopped) {
      long now = System.nanoTime();
      boolean sampling = false;
      for (WorkerPool pool : cpuPools) {
        sampling |= sample(pool, now);
      }
      rounds.incrementAndGet();
      if (nextTimer <= now) {
        runTimers(now);
      }
      long thresh = system.watchdogThreshNanos;
      if (thresh > 0 && now - nextWatchdog >= 0) {
        watchdog(now, thresh);
        nextWatchdog = now + thresh / 4; // as often as the kernel's check: see stallClock
      }
      if (sampling) {
        LockSupport.parkNanos(this, TICK_NANOS);
        continue;
      }
      parked = true;
      if (anyWorkWaiting()) {
        parked = false;
        continue;
      }
      // A wake-up sent while we were checking may have been swallowed by a pool-lock
      // acquisition (locks consume unpark permits): workArrived() cleared `parked` first, so
      // look at the flag rather than trusting the permit.
      if (!parked || stopped) {
        parked = false;
        continue;
      }
      long timer = nextTimer; // read after the last lock: a later arm's unpark still counts
      if (thresh > 0 && nextWatchdog - timer < 0) {
        timer = nextWatchdog;
      }
      if (timer == Long.MAX_VALUE) {
        LockSupport.park(this);
      } else {
        long wait = timer - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(this, wait);
        }
      }
      parked = false;
    }
  }

  private boolean anyWorkWaiting() {
    for (WorkerPool pool : cpuPools) {
      pool.lock.lock();
      try {
        if (!pool.worklist.isEmpty()) {
          return true;
        }
      } finally {
        pool.lock.unlock();
      }
    }
    return false;
  }

  private void runTimers(long now) {
    nextTimer = Long.MAX_VALUE;
    for (WorkerPool pool : idleTimers) {
      long expires = pool.idleTimerExpired(now);
      if (expires != 0) {
        armIdleTimer(pool, expires);
      }
    }
  }

  /**
   * One look at a per-CPU pool; returns whether it has work waiting (keep sampling). The pool
   * lock is held only for reading the workers; thread state and CPU time are read outside it.
   */
  private boolean sample(WorkerPool pool, long now) {
    if (!samplingEnabled) {
      return false;
    }
    List<Worker> suspects = null;
    pool.lock.lock();
    try {
      if (pool.worklist.isEmpty()) {
        return false;
      }
      for (Worker w : pool.busyWorkers()) {
        if (w.sleeping == Worker.SLEEP_HOOK) {
          continue; // the exact hook already accounts for it
        }
        if (w.nrStarted != w.tickSeenStarted) {
          w.tickSeenStarted = w.nrStarted; // progress: nothing to check
          w.tickCpuStart = -1;
          w.tickCpuLast = -1;
          w.tickStalled = 0;
          continue;
        }
        if (suspects == null) {
          suspects = new ArrayList<>(4);
        }
        suspects.add(w);
      }
    } finally {
      pool.lock.unlock();
    }
    if (suspects != null) {
      for (Worker w : suspects) {
        check(pool, w);
      }
    }
    return true;
  }

  /**
   * Looks closer at a worker that has been on one item since the previous look. Thread state,
   * CPU time and the /proc state are read before taking the pool lock (the T fields used for
   * that are only ever touched by this thread).
   */
  private void check(WorkerPool pool, Worker w) {
    long seen = w.tickSeenStarted;
    Thread.State state = w.thread.getState();
    boolean runnable = state == Thread.State.RUNNABLE;
    long cpu = runnable ? w.threadCpuTime() : -1;
    boolean progressed = w.tickCpuLast < 0 || cpu > w.tickCpuLast;
    // RUNNABLE for the JVM but no CPU since the last look: preempted (still running, as for the
    // kernel) or blocked in native code. /proc tells which; without it, a few stalled looks in
    // a row count as blocked.
    char os = runnable && cpu >= 0 && !progressed ? ProcFs.threadState(w.nativeTid) : 'R';
    pool.lock.lock();
    try {
      if (w.currentWork == null || w.nrStarted != seen || w.sleeping == Worker.SLEEP_HOOK) {
        return; // moved on meanwhile
      }
      boolean counted = (w.flags & Worker.WORKER_NOT_RUNNING) == 0;
      if (!runnable) {
        if (state != Thread.State.NEW && state != Thread.State.TERMINATED
            && w.sleeping == Worker.AWAKE && counted) {
          w.markSleeping(Worker.SLEEP_TICK); // parked, waiting or blocked on a monitor
        }
        return;
      }
      if (cpu < 0) {
        return; // no CPU clock: only the thread state can be used
      }
      if (w.tickCpuStart < 0) {
        w.tickCpuStart = cpu;
      }
      w.tickCpuLast = cpu;
      if (!progressed) {
        boolean blocked = os == '?' ? ++w.tickStalled >= STALL_TICKS : os != 'R';
        if (!blocked) {
          if (os == 'R' && w.sleeping == Worker.SLEEP_TICK) {
            w.markRunning();
          }
        } else if (w.sleeping == Worker.AWAKE && counted) {
          w.markSleeping(Worker.SLEEP_TICK);
        }
        return;
      }
      w.tickStalled = 0;
      if (w.sleeping == Worker.SLEEP_TICK) {
        w.markRunning();
        return;
      }
      long thresh = system.cpuIntensiveThreshNanos;
      if (thresh > 0 && counted && cpu - w.tickCpuStart >= thresh) {
        PoolWorkqueue pwq = w.currentPwq;
        w.setFlags(Worker.WORKER_CPU_INTENSIVE);
        pwq.addStat(PoolWorkqueue.PWQ_STAT_CPU_INTENSIVE, 1);
        if (pool.kickPool()) {
          pwq.addStat(PoolWorkqueue.PWQ_STAT_CM_WAKEUP, 1);
        }
        reportHog(w.currentFunc, thresh);
        Events.cpuIntensive(pwq.wq, w.currentWork, pool, thresh);
      }
    } finally {
      pool.lock.unlock();
    }
  }

  /**
   * {@code wq_watchdog_timer_fn}: every pool with items waiting whose last forward progress
   * (items reaching an empty worklist, or a worker starting a batch) is older than the threshold
   * is reported as locked up, followed by the dump and the stacks of the busy workers of stalled
   * per-CPU pools (the likely hogs).
   */
  private void watchdog(long now, long thresh) {
    List<WorkerPool> stalled = new ArrayList<>();
    List<Long> stuck = new ArrayList<>();
    for (WorkerPool pool : system.poolsById()) {
      long ts;
      pool.lock.lock();
      try {
        if (pool.worklist.isEmpty()) {
          continue;
        }
        ts = pool.stallClock(now);
      } finally {
        pool.lock.unlock();
      }
      if (now - ts > thresh) {
        stalled.add(pool);
        stuck.add(now - ts);
      }
    }
    if (stalled.isEmpty()) {
      return;
    }
    StringBuilder bugs = new StringBuilder();
    for (int i = 0; i < stalled.size(); i++) {
      bugs.append("BUG: workqueue lockup - pool ").append(stalled.get(i).describe())
          .append(" stuck for ").append(TimeUnit.NANOSECONDS.toSeconds(stuck.get(i)))
          .append("s!\n");
    }
    StringBuilder report = new StringBuilder(bugs).append(Dump.showAllWorkqueues(system));
    boolean header = false;
    for (WorkerPool pool : stalled) {
      if (pool.cpu < 0) {
        continue;
      }
      if (!header) {
        report.append("Showing backtraces of running workers in stalled CPU-bound worker pools:\n");
        header = true;
      }
      report.append("pool ").append(pool.id).append(":\n");
      List<Worker> busy;
      pool.lock.lock();
      try {
        busy = pool.busyWorkers();
      } finally {
        pool.lock.unlock();
      }
      for (Worker w : busy) {
        report.append("  ").append(w.thread.getName()).append(" (").append(w.thread.getState())
            .append(")\n");
        for (StackTraceElement e : w.thread.getStackTrace()) {
          report.append("    at ").append(e).append('\n');
        }
      }
    }
    String text = report.toString();
    Warn.LOG.log(System.Logger.Level.ERROR, text);
    for (int i = 0; i < stalled.size(); i++) {
      lockups.incrementAndGet();
      WorkerPool pool = stalled.get(i);
      Events.lockup(pool, stuck.get(i));
      try {
        system.lockupHandler.accept(new WorkqueueSystem.Lockup(pool.id, pool.describe(),
            java.time.Duration.ofNanos(stuck.get(i)), text));
      } catch (RuntimeException e) {
        Warn.always("workqueue: lockup handler threw", e);
      }
    }
  }

  /**
   * {@code wci_report}: "hogged CPU for >Nus M times, consider switching to WQ_UNBOUND", printed
   * when M reaches the threshold T and then whenever M+1-T is a power of two.
   */
  private void reportHog(Object fn, long threshNanos) {
    String name = Work.functionName(fn);
    AtomicInteger count = hogCounts.get(name);
    if (count == null) {
      if (hogCounts.size() >= HOG_REPORT_MAX) {
        return;
      }
      count = hogCounts.computeIfAbsent(name, k -> new AtomicInteger());
    }
    int m = count.incrementAndGet();
    int x = m + 1 - HOG_REPORT_THRESH;
    if (m >= HOG_REPORT_THRESH && (x & (x - 1)) == 0) {
      Warn.LOG.log(System.Logger.Level.INFO, "workqueue: " + name + " hogged CPU for >"
          + TimeUnit.NANOSECONDS.toMicros(threshNanos) + "us " + m
          + " times, consider switching to WQ_UNBOUND");
    }
  }

  private static final VarHandle PARKED;
  private static final VarHandle NEXT_TIMER;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      PARKED = l.findVarHandle(SamplingTick.class, "parked", boolean.class);
      NEXT_TIMER = l.findVarHandle(SamplingTick.class, "nextTimer", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
