package dev.cmwq;

import dev.cmwq.timer.TimerBase;
import dev.cmwq.timer.TimerList;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A workqueue ({@code struct workqueue_struct}): a cheap front end that routes work items to
 * shared, concurrency-managed worker pools, with the kernel's guarantees: PENDING coalescing,
 * non-reentrancy, max_active, ordered execution, flush by colour, drain and destroy.
 *
 * <pre>{@code
 * Workqueue wq = Workqueue.builder("events_example").build();   // alloc_workqueue
 * Work work = new Work(() -> System.out.println("hello"));        // INIT_WORK
 * wq.queueWork(work);                                             // queue_work
 * wq.flush();                                                     // flush_workqueue
 * wq.close();                                                     // destroy_workqueue
 * }</pre>
 *
 * <h2>Implementation overview</h2>
 *
 * <p>Per-CPU workqueues have one {@link PoolWorkqueue} per CPU, each on that CPU's normal or
 * high-priority pool; unbound workqueues have a pwq per pool their CPUs' pods resolve to (the
 * kernel, since 6.6, allocates one per CPU even when CPUs share a pool; max_active being
 * node-wide, sharing changes nothing but the cost), with no per-CPU table at all when every CPU
 * uses the default pwq; ordered workqueues have a single pwq for every CPU.
 * Queueing picks the slot of the requested (or the caller's) CPU, except that an item still
 * executing in the pool it last ran in is routed back there ({@code __queue_work}).
 *
 * <p>Lock order (the whole engine): {@link WorkqueueSystem#poolMutex} before {@link #mutex} before
 * {@code pool.lock} before the node nr_active lock. The release worker's lock is a leaf taken
 * under pool locks. Field codes: see {@code package-info}.
 */
public final class Workqueue implements Executor, AutoCloseable {
  /** {@code WORK_CPU_UNBOUND}: no CPU preference. */
  public static final int ANY_CPU = -1;
  /** {@code WQ_MAX_ACTIVE}: the largest max_active. */
  public static final int WQ_MAX_ACTIVE = 512;
  /** {@code WQ_DFL_ACTIVE}: max_active when 0 is given. */
  public static final int WQ_DFL_ACTIVE = WQ_MAX_ACTIVE / 2;
  /** {@code WQ_DFL_MIN_ACTIVE}: default per-node floor of unbound workqueues. */
  public static final int WQ_DFL_MIN_ACTIVE = 8;
  /** {@code WQ_NAME_LEN}: names are truncated to one less character. */
  static final int WQ_NAME_LEN = 32;

  private static final PoolWorkqueue[] NO_PWQS = new PoolWorkqueue[0];
  private static final VarHandle NR_PWQS_TO_FLUSH;
  private static final VarHandle RELEASED;

  static {
    try {
      NR_PWQS_TO_FLUSH = MethodHandles.lookup()
          .findVarHandle(Workqueue.class, "nrPwqsToFlush", int.class);
      RELEASED = MethodHandles.lookup()
          .findVarHandle(Workqueue.class, "released", Completion.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  // Flag bits, kernel values.
  static final int WQ_UNBOUND = 1 << 1;
  static final int WQ_FREEZABLE = 1 << 2;
  static final int WQ_MEM_RECLAIM = 1 << 3;
  static final int WQ_HIGHPRI = 1 << 4;
  static final int WQ_CPU_INTENSIVE = 1 << 5;
  static final int WQ_SYSFS = 1 << 6;
  static final int WQ_POWER_EFFICIENT = 1 << 7;
  static final int __WQ_DESTROYING = 1 << 15;
  static final int __WQ_DRAINING = 1 << 16;
  static final int __WQ_ORDERED = 1 << 17;
  /** Ours: one of the system's own workqueues ({@code system_wq} and friends). */
  static final int __WQ_SYSTEM = 1 << 24;

  /** How exceptions thrown by work functions are reported. */
  @FunctionalInterface
  public interface ExceptionHandler {
    /**
     * Called on the worker thread after {@code work}'s function threw {@code error}. The item
     * still counts as executing (it cannot start again until this returns).
     */
    void uncaughtException(Workqueue wq, Work work, Throwable error);
  }

  private static final ExceptionHandler LOG_HANDLER = (wq, work, error) ->
      Warn.LOG.log(Level.WARNING, "workqueue " + wq.name() + ": " + work + " threw", error);

  /** I: owning system. */
  final WorkqueueSystem system;
  /** I: name, at most 31 characters. */
  private final String name;
  /** I: handler for exceptions thrown by work functions. */
  private final ExceptionHandler handler;
  /** WR: WQ_* flags (mutex to write; lock-free reads). */
  volatile int flags;
  /** {@code wq->mutex}: flush state, pwq list, max_active. */
  final MutexLock mutex;
  /** V: the MBean's name while registered ({@code javax.management.ObjectName}), else null. */
  volatile Object mbean;
  /** WR: linked pwqs, oldest first (copy on write). */
  private volatile PoolWorkqueue[] pwqs = NO_PWQS;
  /**
   * WR: pwq of every CPU slot (a new array is published per attribute change); null for an
   * unbound workqueue whose CPUs all share {@link #dflPwq} (one pod; the slots then hold no
   * references of their own). Read through {@link #pwqForCpu}.
   */
  private volatile PoolWorkqueue[] cpuPwq;
  /** WR: default pwq of unbound workqueues ({@code dfl_pwq}), null for per-CPU ones. */
  private volatile PoolWorkqueue dflPwq;
  /** WQ: colour stamped on new items. */
  private int workColor;
  /** WQ: oldest colour being flushed. */
  private int flushColor;
  /**
   * V (atomic through {@link #NR_PWQS_TO_FLUSH}): pwqs still holding items of the colour being
   * flushed. A field rather than an AtomicInteger: 16 B less per workqueue (ThreadEconomy).
   */
  private volatile int nrPwqsToFlush;
  /** WQ to write; read under pool locks: the flusher driving the current colour. */
  volatile WqFlusher firstFlusher;
  /** WQ: flushers waiting for their colour; null until this workqueue is first flushed. */
  private ArrayDeque<WqFlusher> flusherQueue;
  /** WQ: flushers waiting for a free colour; null until this workqueue is first flushed. */
  private ArrayDeque<WqFlusher> flusherOverflow;
  /** WQ: concurrent drain() calls. */
  private int nrDrainers;
  /** WO: live max_active (0 while frozen). */
  volatile int maxActive;
  /** WO: live min_active. */
  volatile int minActive;
  /** WR: max_active as set by the user. */
  private volatile int savedMaxActive;
  /** WQ: min_active as set by the user. */
  private int savedMinActive;
  /** WR: attributes as requested, cpumask restricted to the system's CPUs (unbound only). */
  private volatile WorkqueueAttrs unboundAttrs;
  /**
   * I: per-node active counts ({@code wq->node_nr_active}), read through {@link
   * #nodeNrActive(int)}: on a one-node system the single {@link NodeNrActive} itself (it also
   * serves pools spanning nodes, with the same max), otherwise a {@code NodeNrActive[]} whose
   * last entry is for pools spanning nodes; null for per-CPU workqueues.
   */
  private final Object nodeNrActive;
  /** WQ: statistics of pwqs already released; null until the first release. */
  private long[] retiredStats;
  /** MD to write, lock-free reads: the rescuer ({@code wq->rescuer}); null if none or destroyed. */
  volatile Worker rescuer;
  /**
   * V (set once, by CAS through {@link #RELEASED}): completed when the last pwq is released (the
   * kernel frees the workqueue then); created on first use by {@link #released()}, as nothing
   * waits for most workqueues.
   */
  private volatile Completion released;
  /** PL (system pool mutex): links on the system's list of workqueues. */
  Workqueue listPrev;
  /** PL: links on the system's list of workqueues. */
  Workqueue listNext;

  private Workqueue(WorkqueueSystem system, String name, int flags, int maxActive,
      ExceptionHandler handler) {
    this.system = system;
    this.name = name;
    this.mutex = new MutexLock(Lockdep.LockClass.WQ_MUTEX, name); // named by the class: no string built
    this.flags = flags;
    this.handler = handler;
    this.maxActive = maxActive;
    this.savedMaxActive = maxActive;
    this.minActive = Math.min(maxActive, WQ_DFL_MIN_ACTIVE);
    this.savedMinActive = this.minActive;
    if ((flags & WQ_UNBOUND) != 0) {
      int nodes = system.topology.nodes();
      if (nodes == 1) {
        // The fallback entry would get the same max as the node's own: one entry for both
        // (and no array: ThreadEconomy).
        nodeNrActive = new NodeNrActive(WQ_DFL_MIN_ACTIVE);
      } else {
        NodeNrActive[] perNode = new NodeNrActive[nodes + 1];
        for (int i = 0; i <= nodes; i++) {
          perNode[i] = new NodeNrActive(WQ_DFL_MIN_ACTIVE);
        }
        nodeNrActive = perNode;
      }
    } else {
      nodeNrActive = null;
    }
  }

  /** A builder on the {@linkplain WorkqueueSystem#getDefault() default system}. */
  public static Builder builder(String name) {
    return WorkqueueSystem.getDefault().workqueue(name);
  }

  /**
   * {@code alloc_workqueue}: builds the workqueue, its pwqs and registers it. Throws if an unbound
   * pool needs a first worker and none can be created.
   */
  static Workqueue alloc(WorkqueueSystem system, String name, int flags, int maxActive,
      ExceptionHandler handler) {
    Workqueue wq = new Workqueue(system, name, flags, maxActive, handler);
    wq.initRescuer();
    try {
      wq.allocAndLinkPwqs();
    } catch (RuntimeException | Error e) {
      wq.stopRescuer();
      throw e;
    }
    system.poolMutex.lock();
    try {
      wq.mutex.lock();
      try {
        wq.adjustMaxActive();
      } finally {
        wq.mutex.unlock();
      }
      system.registerWorkqueue(wq);
    } finally {
      system.poolMutex.unlock();
    }
    system.workqueueCreated(wq);
    return wq;
  }

  /**
   * {@code init_rescuer}: a MEM_RECLAIM workqueue gets its rescuer thread
   * ({@code kworker/R-<name>}) at allocation, while threads can still be made.
   */
  private void initRescuer() {
    if ((flags & WQ_MEM_RECLAIM) == 0) {
      return;
    }
    Worker r = new Worker(this);
    try {
      Thread t = system.threadFactory.newThread(r::rescuerThread);
      if (t == null) {
        throw new IllegalStateException("the thread factory returned null");
      }
      t.setName(r.threadName());
      r.thread = t;
      t.start();
    } catch (RuntimeException | Error e) {
      throw new IllegalStateException("cannot create the rescuer " + r.threadName(), e);
    }
    rescuer = r;
  }

  /** Detaches and stops the rescuer (destroy); it empties its mayday list first. */
  private void stopRescuer() {
    Worker r;
    system.maydayLock.lock();
    try {
      r = rescuer;
      rescuer = null;
    } finally {
      system.maydayLock.unlock();
    }
    if (r != null) {
      r.stopRescuer();
    }
  }

  private void allocAndLinkPwqs() {
    boolean highpri = (flags & WQ_HIGHPRI) != 0;
    if ((flags & WQ_UNBOUND) == 0) {
      mutex.lock();
      try {
        PoolWorkqueue[] tbl = new PoolWorkqueue[system.nrCpus];
        for (int cpu = 0; cpu < tbl.length; cpu++) {
          PoolWorkqueue pwq = new PoolWorkqueue(this, system.cpuPool(cpu, highpri));
          pwq.workColor = (byte) workColor;
          pwq.linked = true;
          tbl[cpu] = pwq;
        }
        // The linked list is the table, in CPU order: one array serves both, as neither is
        // ever written in place (copy on write; ThreadEconomy: 24 B per workqueue).
        pwqs = tbl;
        cpuPwq = tbl;
      } finally {
        mutex.unlock();
      }
      return;
    }
    WorkqueueAttrs attrs =
        WorkqueueAttrs.defaults().withNice(highpri ? WorkerPool.HIGHPRI_NICE_LEVEL : 0);
    system.poolMutex.lock();
    try {
      ApplyContext ctx = prepare(attrs, system.unboundCpumask);
      commit(ctx);
      ctx.cleanup();
    } finally {
      system.poolMutex.unlock();
    }
  }

  // ---- queueing ---------------------------------------------------------------------------

  /**
   * {@code queue_work}: queues {@code work} on the caller's CPU (a worker's own CPU; for other
   * threads a CPU stable per thread).
   *
   * @return true if queued, false if it was already pending (it will still run after this call)
   *     or is disabled
   * @throws RejectedExecutionException if the workqueue is being drained or destroyed and the
   *     caller is not one of its own items; the item is left not pending
   * @throws IllegalStateException if the item is pending on a different workqueue
   */
  public boolean queueWork(Work work) {
    return queueWorkOn(ANY_CPU, work);
  }

  /**
   * {@code queue_work_on}: queues {@code work} on {@code cpu}'s pwq ({@link #ANY_CPU}: the
   * caller's). For unbound workqueues the CPU only selects the pod.
   *
   * @see #queueWork(Work)
   * @throws IllegalArgumentException if {@code cpu} is not a CPU of the system
   */
  public boolean queueWorkOn(int cpu, Work work) {
    Checks.notNull(work, "work");
    if (cpu != ANY_CPU) {
      Checks.inRange(cpu, 0, system.nrCpus - 1, "cpu");
    }
    if (!work.testAndSetPending()) {
      checkNotPendingElsewhere(work);
      return false;
    }
    if (work.clearPendingIfDisabled()) {
      return false;
    }
    doQueueWork(cpu, work);
    return true;
  }

  /**
   * {@code queue_work_node}: queues on a CPU of NUMA node {@code node}: the caller's CPU if it
   * belongs to it, else the node's first CPU; {@code -1} means no preference. Meant for unbound
   * workqueues.
   *
   * @see #queueWork(Work)
   * @throws IllegalArgumentException if {@code node} is not -1 or a node of the system
   */
  public boolean queueWorkNode(int node, Work work) {
    Checks.notNull(work, "work");
    Checks.inRange(node, -1, system.topology.nodes() - 1, "node");
    if ((flags & WQ_UNBOUND) == 0) {
      Warn.once("queue_work_node-" + name, "workqueue: queueWorkNode on per-CPU workqueue " + name);
    }
    int cpu = ANY_CPU;
    if (node >= 0) {
      int local = system.localCpu(Worker.current());
      cpu = system.topology.nodeOf(local) == node ? local : system.topology.nodeCpus(node).first();
    }
    return queueWorkOn(cpu, work);
  }

  /**
   * {@code __queue_work}: the caller owns PENDING. Picks the pwq, routes an item still running
   * in its last pool back there (non-reentrancy across pools), re-checks drain/destroy under the
   * pool lock, and inserts the item as active or inactive.
   */
  void doQueueWork(int reqCpu, Work work) {
    Worker self = Worker.current();
    boolean unbound = (flags & WQ_UNBOUND) != 0;
    WorkerPool queuedOn;
    boolean active;
    for (int spins = 0; ; spins++) {
      int cpu = reqCpu;
      PoolWorkqueue pwq;
      PoolWorkqueue[] table = cpuPwq; // as pwqForCpu, read once
      if (table == null) {
        // Every CPU uses the default pwq (an unbound workqueue on one pod, or ordered): the CPU
        // cannot matter, so do not ask the OS for it (sched_getcpu through JNA costs about
        // 40 ns per call here).
        pwq = dflPwq;
      } else {
        if (cpu == ANY_CPU) {
          cpu = system.localCpu(self);
          if (unbound) {
            cpu = system.selectUnboundCpu(cpu);
          }
        }
        pwq = table[cpu];
      }
      WorkerPool pool = pwq.pool;
      WorkerPool lastPool = work.getWorkPool();
      if (lastPool != null && lastPool != pool && (flags & __WQ_ORDERED) == 0) {
        // Still running in its last pool for this workqueue? Then queue it there, so that the
        // busy worker runs it next instead of another pool running it concurrently.
        lastPool.lock.lock();
        Worker worker = lastPool.findWorkerExecutingWork(work);
        if (worker != null && worker.currentPwq.wq == this) {
          pwq = worker.currentPwq;
          pool = lastPool;
        } else {
          lastPool.lock.unlock();
          pool.lock.lock();
        }
      } else {
        pool.lock.lock();
      }
      try {
        int f = flags;
        if ((f & (__WQ_DESTROYING | __WQ_DRAINING)) != 0 && !isChainedWork(self)) {
          work.releasePending();
          throw new RejectedExecutionException("workqueue " + name + " is being "
              + ((f & __WQ_DESTROYING) != 0 ? "destroyed" : "drained") + ": " + work
              + " was not queued (only its own items may queue onto it now)");
        }
        if (pwq.refcnt == 0) {
          // An unbound pwq being released: a replacement is already installed. Retry.
          if (unbound) {
            Work.backoff(spins);
            continue;
          }
          Warn.once("dead-percpu-pwq-" + name, "workqueue: per-CPU pwq of " + name + " on cpu "
              + cpu + " has 0 refcnt");
        }
        int color = pwq.workColor;
        pwq.incInFlight(color);
        long workFlags = Work.colorFlags(color);
        active = !pwq.hasInactive() && pwq.tryincNrActive(false);
        if (active) {
          if (pool.worklist.isEmpty()) {
            pool.worklistFilling();
          }
          pwq.insertWork(work, pool.worklist, workFlags);
          pool.kickPool();
        } else {
          pwq.insertWork(work, pwq.inactiveList(), workFlags | Work.WORK_STRUCT_INACTIVE);
        }
        queuedOn = pool;
        break;
      } finally {
        pool.lock.unlock();
      }
    }
    // The item may be running already; the event reads only its immutable function.
    Events.queueWork(this, work, reqCpu, queuedOn, active);
  }

  /** {@code is_chained_work}: the caller is a worker executing an item of this workqueue. */
  private boolean isChainedWork(Worker self) {
    return self != null && self.currentPwq != null && self.currentPwq.wq == this;
  }

  private void checkNotPendingElsewhere(Work work) {
    long d = work.data;
    PoolWorkqueue p = work.pwq;
    Workqueue other = null;
    if ((d & Work.WORK_STRUCT_PWQ) != 0 && p != null) {
      other = p.wq;
    } else if (work instanceof DelayedWork && ((DelayedWork) work).timer.isPending()) {
      other = ((DelayedWork) work).wq;
    }
    if (other != null && other != this) {
      throw new IllegalStateException(work + " is pending on workqueue " + other.name()
          + "; queueing it on " + name + " before it runs would break non-reentrancy");
    }
  }

  // ---- delayed work ------------------------------------------------------------------------

  /**
   * {@code queue_delayed_work}: queues {@code dwork} after {@code delay} on the caller's CPU
   * (see {@link #queueWork}). A zero or negative delay queues at once; delays beyond about 73
   * years saturate. The timer fires at most one tick (about 0.5 ms) late; two for a delay of a
   * second or more armed while armings arrive faster than 500 000 per second, which read no
   * clock ({@link dev.cmwq.timer.TimerBase#addAfter}).
   *
   * @return true if armed (or queued), false if it was already pending or is disabled
   * @throws RejectedExecutionException if the workqueue is being destroyed
   */
  public boolean queueDelayedWork(DelayedWork dwork, Duration delay) {
    return queueDelayedWorkOn(ANY_CPU, dwork, delay);
  }

  /**
   * {@code queue_delayed_work_on}: as {@link #queueDelayedWork}, queueing on {@code cpu}'s pwq
   * when the timer expires.
   *
   * @throws IllegalArgumentException if {@code cpu} is not a CPU of the system
   */
  public boolean queueDelayedWorkOn(int cpu, DelayedWork dwork, Duration delay) {
    return queueDelayedWorkNanos(cpu, dwork, Checks.delayNanos(delay));
  }

  /**
   * {@link #queueDelayedWork(DelayedWork, Duration)} with the delay as an amount of {@code unit}
   * ({@code unit.toNanos(delay)}, saturated): no {@link Duration} object per call, for callers
   * whose delays are computed numbers.
   */
  public boolean queueDelayedWork(DelayedWork dwork, long delay, TimeUnit unit) {
    return queueDelayedWorkOn(ANY_CPU, dwork, delay, unit);
  }

  /** {@link #queueDelayedWorkOn(int, DelayedWork, Duration)} with the delay in {@code unit}. */
  public boolean queueDelayedWorkOn(int cpu, DelayedWork dwork, long delay, TimeUnit unit) {
    return queueDelayedWorkNanos(cpu, dwork, Checks.delayNanos(delay, unit));
  }

  private boolean queueDelayedWorkNanos(int cpu, DelayedWork dwork, long nanos) {
    checkDelayedTarget(cpu, dwork);
    // Test before test-and-set: an armed timer owns PENDING, so the item is pending. Reading the
    // timer before the PENDING CAS also starts its cache miss on a cold item early, instead of
    // behind the CAS (TimerProbe at a million timers: about 5 ns per arm).
    if (dwork.timer.isPending() || !dwork.testAndSetPending()) {
      checkNotPendingElsewhere(dwork);
      return false;
    }
    if (dwork.clearPendingIfDisabled()) {
      return false;
    }
    doQueueDelayedWork(cpu, dwork, nanos);
    return true;
  }

  /**
   * {@code mod_delayed_work}: whatever state {@code dwork} is in (armed, queued, idle), arm it
   * for {@code delay} from now; a zero delay queues at once. A running instance is not
   * affected; the new one runs after it.
   *
   * @return true if it was pending (armed or queued) and has been re-timed, false if it was
   *     idle and is now armed
   */
  public boolean modDelayedWork(DelayedWork dwork, Duration delay) {
    return modDelayedWorkOn(ANY_CPU, dwork, delay);
  }

  /** {@code mod_delayed_work_on}: as {@link #modDelayedWork}, queueing on {@code cpu}. */
  public boolean modDelayedWorkOn(int cpu, DelayedWork dwork, Duration delay) {
    return modDelayedWorkNanos(cpu, dwork, Checks.delayNanos(delay));
  }

  /** {@link #modDelayedWork(DelayedWork, Duration)} with the delay in {@code unit}. */
  public boolean modDelayedWork(DelayedWork dwork, long delay, TimeUnit unit) {
    return modDelayedWorkOn(ANY_CPU, dwork, delay, unit);
  }

  /** {@link #modDelayedWorkOn(int, DelayedWork, Duration)} with the delay in {@code unit}. */
  public boolean modDelayedWorkOn(int cpu, DelayedWork dwork, long delay, TimeUnit unit) {
    return modDelayedWorkNanos(cpu, dwork, Checks.delayNanos(delay, unit));
  }

  private boolean modDelayedWorkNanos(int cpu, DelayedWork dwork, long nanos) {
    checkDelayedTarget(cpu, dwork);
    // Fast path: armed for this workqueue and CPU, just move the timer; the item stays pending
    // (owned by its timer) throughout. wq/cpu are read without owning PENDING: if another
    // thread re-targets the item concurrently, the outcome is one of the two calls' targets,
    // as with two racing slow paths; an item may not be used with two workqueues at once.
    if (dwork.wq == this && dwork.cpu == cpu && nanos > 0
        && system.timers.reschedule(dwork.timer, TimerBase.deadline(nanos))) {
      return true;
    }
    boolean ret = dwork.grabPending();
    if (!dwork.clearPendingIfDisabled()) {
      doQueueDelayedWork(cpu, dwork, nanos);
    }
    return ret;
  }

  private void checkDelayedTarget(int cpu, DelayedWork dwork) {
    Checks.notNull(dwork, "dwork");
    if (cpu != ANY_CPU) {
      Checks.inRange(cpu, 0, system.nrCpus - 1, "cpu");
    }
  }

  /** {@code __queue_delayed_work}: the caller owns PENDING; {@code nanos} is the delay. */
  private void doQueueDelayedWork(int cpu, DelayedWork dwork, long nanos) {
    if (nanos <= 0) {
      doQueueWork(cpu, dwork);
      return;
    }
    int f = flags;
    if ((f & __WQ_DESTROYING) != 0 && !isChainedWork(Worker.current())) {
      dwork.releasePending();
      throw new RejectedExecutionException("workqueue " + name + " is being destroyed: "
          + dwork + " was not armed");
    }
    dwork.wq = this;
    dwork.cpu = cpu;
    system.timers.addAfter(dwork.timer, nanos); // PENDING owner: sole armer
  }

  /**
   * Destroy's part for delayed work: disarms every armed item that would queue here and leaves
   * it not pending, instead of letting its timer fire into a dead workqueue.
   */
  private void cancelArmedDelayedWork() {
    List<TimerList> cancelled = system.timers.deleteIf(t -> t instanceof DelayedWork.Timer
        && ((DelayedWork.Timer) t).owner().wq == this);
    for (TimerList t : cancelled) {
      DelayedWork dwork = ((DelayedWork.Timer) t).owner();
      dwork.releasePending();
      dwork.refused();
    }
    if (!cancelled.isEmpty()) {
      Warn.LOG.log(Level.INFO, "workqueue " + name + ": destroy cancelled " + cancelled.size()
          + " armed delayed item(s)");
    }
  }

  /**
   * {@link Executor#execute}: runs {@code task} once as a new work item.
   *
   * @throws RejectedExecutionException if the workqueue is being drained or destroyed
   */
  @Override
  public void execute(Runnable task) {
    queueWork(new Work(Checks.notNull(task, "task")));
  }

  /**
   * A new {@link ExecutorService} view of this workqueue with full {@code java.util.concurrent}
   * semantics: each task is a work item here. Shutting the view down ends the view (it stops
   * accepting tasks and terminates once its own tasks are done), never the workqueue: views of
   * system workqueues are safe to shut down. Same object as
   * {@link #asScheduledExecutorService()}.
   */
  public ExecutorService asExecutorService() {
    return new ExecutorView(this);
  }

  /**
   * A new {@link ScheduledExecutorService} view of this workqueue: {@code schedule*} run on
   * delayed work items (periodic tasks re-arm their own item), with
   * {@code ScheduledThreadPoolExecutor}'s default shutdown policies; see
   * {@link #asExecutorService()} for the lifecycle.
   */
  public ScheduledExecutorService asScheduledExecutorService() {
    return new ExecutorView(this);
  }

  // ---- flush_workqueue: flush colours -----------------------------------------------------

  /** {@code struct wq_flusher}. */
  static final class WqFlusher {
    /** WQ: the colour this flusher waits for, -1 until assigned. */
    int flushColor = -1;
    /** Completed when every item of that colour (and older) has finished. */
    final Completion done = new Completion();
  }

  private static int nextColor(int color) {
    return (color + 1) % Work.WORK_NR_COLORS;
  }

  /**
   * {@code flush_workqueue}: waits until every item queued before the call (active or inactive,
   * including flush barriers) has finished. Items queued afterwards, even by the items being
   * flushed, do not delay it. Concurrent flushers are batched by colour.
   *
   * @throws IllegalStateException if called from an item of this workqueue (it would wait for
   *     itself)
   */
  public void flush() {
    checkNotFromOwnItem("flush");
    checkFlushDependency(Worker.current());
    doFlush();
  }

  private void doFlush() {
    WqFlusher me = new WqFlusher();
    mutex.lock();
    try {
      if (flusherQueue == null) {
        flusherQueue = new ArrayDeque<>(1);
        flusherOverflow = new ArrayDeque<>(1);
      }
      int next = nextColor(workColor);
      if (next != flushColor) {
        // A colour is free: the current work colour becomes ours, and work_color advances.
        me.flushColor = workColor;
        workColor = next;
        if (firstFlusher == null) {
          firstFlusher = me;
          if (!flushPrepPwqs(flushColor, workColor)) {
            flushColor = next; // nothing of our colour in flight
            firstFlusher = null;
            return;
          }
        } else {
          flusherQueue.addLast(me);
          flushPrepPwqs(-1, workColor);
        }
      } else {
        flusherOverflow.addLast(me); // all colours in use; a later cascade assigns ours
      }
    } finally {
      mutex.unlock();
    }

    me.done.await();

    // The first flusher cascades: completes the flushers of its colour and arms the next one.
    if (firstFlusher != me) {
      return;
    }
    mutex.lock();
    try {
      if (firstFlusher != me) {
        return;
      }
      firstFlusher = null;
      for (;;) {
        WqFlusher next;
        while ((next = flusherQueue.peekFirst()) != null && next.flushColor == flushColor) {
          flusherQueue.pollFirst().done.complete();
        }
        flushColor = nextColor(flushColor);
        if (!flusherOverflow.isEmpty()) {
          for (WqFlusher f : flusherOverflow) {
            f.flushColor = workColor;
          }
          workColor = nextColor(workColor);
          flusherQueue.addAll(flusherOverflow);
          flusherOverflow.clear();
          flushPrepPwqs(-1, workColor);
        }
        if (flusherQueue.isEmpty()) {
          break;
        }
        next = flusherQueue.pollFirst();
        firstFlusher = next;
        if (flushPrepPwqs(flushColor, -1)) {
          break;
        }
        firstFlusher = null; // that colour is already done: cascade again
      }
    } finally {
      mutex.unlock();
    }
  }

  /**
   * {@code flush_workqueue_prep_pwqs}: with {@code flushColor >= 0}, marks every pwq that has
   * items of that colour in flight and counts them; with {@code workColor >= 0}, advances every
   * pwq's work colour. Returns whether there is anything to wait for. Mutex held.
   */
  private boolean flushPrepPwqs(int flushColor, int workColor) {
    boolean wait = false;
    if (flushColor >= 0) {
      nrPwqsToFlush = 1;
    }
    WorkerPool current = null;
    try {
      for (PoolWorkqueue pwq : pwqs) {
        if (current != pwq.pool) {
          if (current != null) {
            current.lock.unlock();
          }
          current = pwq.pool;
          current.lock.lock();
        }
        if (flushColor >= 0 && pwq.inFlight(flushColor) != 0) {
          pwq.flushColor = (byte) flushColor;
          NR_PWQS_TO_FLUSH.getAndAdd(this, 1);
          wait = true;
        }
        if (workColor >= 0) {
          pwq.workColor = (byte) workColor;
        }
      }
    } finally {
      if (current != null) {
        current.lock.unlock();
      }
    }
    if (flushColor >= 0 && pwqFlushed()) {
      firstFlusher.done.complete();
    }
    return wait;
  }

  /**
   * {@code drain_workqueue}: flushes repeatedly until the workqueue is empty. Meanwhile only its
   * own items may queue onto it (chained work); other queueing is rejected.
   *
   * @throws IllegalStateException if called from an item of this workqueue
   */
  public void drain() {
    checkNotFromOwnItem("drain");
    doDrain();
  }

  private void doDrain() {
    mutex.lock();
    try {
      if (nrDrainers++ == 0) {
        flags |= __WQ_DRAINING;
      }
    } finally {
      mutex.unlock();
    }
    for (int flushCnt = 1; ; flushCnt++) {
      doFlush();
      mutex.lock();
      try {
        if (allPwqsEmpty()) {
          if (--nrDrainers == 0) {
            flags &= ~__WQ_DRAINING;
          }
          return;
        }
      } finally {
        mutex.unlock();
      }
      if (flushCnt == 10 || (flushCnt % 100 == 0 && flushCnt <= 1000)) {
        Warn.always("workqueue " + name + ": drain() isn't complete after " + flushCnt + " tries");
      }
    }
  }

  /** Mutex held. */
  private boolean allPwqsEmpty() {
    for (PoolWorkqueue pwq : pwqs) {
      pwq.pool.lock.lock();
      try {
        if (!pwq.isEmpty()) {
          return false;
        }
      } finally {
        pwq.pool.lock.unlock();
      }
    }
    return true;
  }

  private void checkNotFromOwnItem(String op) {
    Worker self = Worker.current();
    if (isChainedWork(self)) {
      throw new IllegalStateException(op + "() of workqueue " + name + " from its own item "
          + self.currentWork + " would wait for that item itself: deadlock");
    }
  }

  /**
   * {@code check_flush_dependency}: a MEM_RECLAIM workqueue's item waiting on a workqueue
   * without forward-progress guarantee may wait forever when threads cannot be created.
   */
  void checkFlushDependency(Worker self) {
    if ((flags & WQ_MEM_RECLAIM) != 0 || self == null || self.currentPwq == null) {
      return;
    }
    Workqueue from = self.currentPwq.wq;
    if ((from.flags & WQ_MEM_RECLAIM) != 0) {
      Warn.once("flush-dep-" + from.name + "-" + name, "workqueue: WQ_MEM_RECLAIM " + from.name
          + ":" + self.currentWork + " is flushing !WQ_MEM_RECLAIM " + name);
    }
  }

  // ---- destroy ----------------------------------------------------------------------------

  /**
   * {@code destroy_workqueue}: refuses new queueing except from its own items, drains, then
   * drops the pwqs; they are released on the {@code pool_workqueue_release} thread and the last
   * release frees the workqueue. Calling it again is a no-op.
   *
   * <p>Delayed items whose timers are armed to queue here are cancelled first (logged), so no
   * timer fires into the dead workqueue; the kernel instead requires the caller to cancel them.
   * As in the kernel, if a pwq is still busy after draining (something holds a stray reference)
   * the workqueue is reported and left registered.
   *
   * @throws IllegalStateException for a system workqueue, or from one of this workqueue's items
   */
  public void destroy() {
    if ((flags & __WQ_SYSTEM) != 0 && !system.isClosing()) {
      throw new IllegalStateException("destroy: " + name + " is a system workqueue; it lives"
          + " as long as its WorkqueueSystem (close the system instead)");
    }
    checkNotFromOwnItem("destroy");
    mutex.lock();
    try {
      if ((flags & __WQ_DESTROYING) != 0) {
        return;
      }
      flags |= __WQ_DESTROYING;
    } finally {
      mutex.unlock();
    }
    cancelArmedDelayedWork();
    doDrain();
    stopRescuer();

    system.poolMutex.lock();
    try {
      mutex.lock();
      try {
        for (PoolWorkqueue pwq : pwqs) {
          pwq.pool.lock.lock();
          try {
            if (pwq.hasInFlight() || (pwq != dflPwq && pwq.refcnt > 1) || !pwq.isEmpty()) {
              Warn.always("workqueue: destroy of " + name + " found busy " + pwq + " (refcnt="
                  + pwq.refcnt + ", active=" + pwq.nrActive + "); leaving it registered");
              return;
            }
          } finally {
            pwq.pool.lock.unlock();
          }
        }
      } finally {
        mutex.unlock();
      }
      system.unregisterWorkqueue(this);
    } finally {
      system.poolMutex.unlock();
    }
    system.workqueueDestroyed(this);
    // Drop the base references; the slots keep pointing at the pwqs so that a late queue
    // attempt still finds a pool to lock and is rejected by the DESTROYING check.
    PoolWorkqueue[] tbl = cpuPwq;
    if (tbl != null) {
      for (PoolWorkqueue pwq : tbl) {
        pwq.unrefUnlocked();
      }
    }
    if (dflPwq != null) {
      dflPwq.unrefUnlocked();
    }
  }

  /** {@link #destroy()}. */
  @Override
  public void close() {
    destroy();
  }

  /** Called by the release of the last pwq. */
  void free() {
    released().complete();
  }

  // ---- max_active -------------------------------------------------------------------------

  /**
   * {@code workqueue_set_max_active}: per-CPU workqueues limit the items executing per CPU;
   * unbound ones limit the whole workqueue (split across NUMA nodes, see
   * {@link #setMinActive}). Raising it activates waiting items at once.
   *
   * @param maxActive 1 to 512; 0 means the default (256); larger values are clamped to 512
   *     with a warning, as the kernel does
   * @throws IllegalArgumentException if negative
   * @throws IllegalStateException for an ordered workqueue
   */
  public void setMaxActive(int maxActive) {
    if ((flags & __WQ_ORDERED) != 0) {
      throw new IllegalStateException("setMaxActive: ordered workqueue " + name
          + " always runs one item at a time");
    }
    int m = clampMaxActive(maxActive, name);
    mutex.lock();
    try {
      savedMaxActive = m;
      if ((flags & WQ_UNBOUND) != 0) {
        savedMinActive = Math.min(savedMinActive, m);
      }
      adjustMaxActive();
    } finally {
      mutex.unlock();
    }
  }

  /**
   * {@code workqueue_set_min_active} (unbound, non-ordered): every NUMA node may run at least
   * this many items whatever its share of max_active; clamped to max_active.
   *
   * @throws IllegalArgumentException if negative
   * @throws IllegalStateException for per-CPU or ordered workqueues
   */
  public void setMinActive(int minActive) {
    if ((flags & (WQ_UNBOUND | __WQ_ORDERED)) != WQ_UNBOUND) {
      throw new IllegalStateException("setMinActive: " + name
          + " (expected: an unbound, non-ordered workqueue)");
    }
    Checks.atLeast(minActive, 0, "minActive");
    mutex.lock();
    try {
      savedMinActive = Math.min(minActive, savedMaxActive);
      adjustMaxActive();
    } finally {
      mutex.unlock();
    }
  }

  static int clampMaxActive(int maxActive, String name) {
    Checks.atLeast(maxActive, 0, "maxActive");
    if (maxActive == 0) {
      return WQ_DFL_ACTIVE;
    }
    if (maxActive > WQ_MAX_ACTIVE) {
      Warn.once("max_active-clamp-" + name, "workqueue: max_active " + maxActive
          + " requested for " + name + " is out of range, clamping between 1 and " + WQ_MAX_ACTIVE);
      return WQ_MAX_ACTIVE;
    }
    return maxActive;
  }

  /** Whether any pwq has active items (the freezer's busy test). */
  boolean hasActiveItems() {
    for (PoolWorkqueue pwq : pwqs) {
      pwq.pool.lock.lock();
      try {
        if (pwq.nrActive != 0) {
          return true;
        }
      } finally {
        pwq.pool.lock.unlock();
      }
    }
    return false;
  }

  /**
   * {@code wq_adjust_max_active}: applies the saved limits (0 for a freezable workqueue while
   * the system freezes) and activates waiting items
   * round-robin across pwqs, one per pwq per pass, until a pass activates nothing. Mutex held.
   */
  void adjustMaxActive() {
    boolean frozen = (flags & WQ_FREEZABLE) != 0 && system.isFreezing();
    int newMax = frozen ? 0 : savedMaxActive;
    int newMin = frozen ? 0 : savedMinActive;
    if (maxActive == newMax && minActive == newMin) {
      return;
    }
    maxActive = newMax;
    minActive = newMin;
    if (nodeNrActive != null) {
      updateNodeMaxActive();
    }
    if (newMax == 0) {
      return;
    }
    boolean activated;
    do {
      activated = false;
      for (PoolWorkqueue pwq : pwqs) {
        pwq.pool.lock.lock();
        try {
          if (pwq.activateFirstInactive(true)) {
            activated = true;
            pwq.pool.kickPool();
          }
        } finally {
          pwq.pool.lock.unlock();
        }
      }
    } while (activated);
  }

  /**
   * {@code wq_update_node_max_active}: node N gets {@code ceil(max * cpus(N) / cpus)} of the
   * workqueue's effective CPUs, clamped to [min_active, max_active]; pools spanning nodes use
   * the fallback entry with the full max_active. Mutex held.
   */
  private void updateNodeMaxActive() {
    int min = minActive;
    int max = maxActive;
    PoolWorkqueue dfl = dflPwq;
    CpuMask effective = dfl == null ? system.unboundCpumask : dfl.pool.attrs.podCpumask();
    int total = effective.cardinality();
    int nodes = system.topology.nodes();
    for (int node = 0; node < nodes; node++) {
      int n = effective.and(system.topology.nodeCpus(node)).cardinality();
      int share = total == 0 ? min : (int) ((max * (long) n + total - 1) / total);
      nodeNrActive(node).max = Math.max(min, Math.min(share, max));
    }
    nodeNrActive(-1).max = max;
  }

  /** The completion of the final release, created by whichever side needs it first. */
  Completion released() {
    Completion c = released;
    if (c == null) {
      Completion mine = new Completion();
      c = (Completion) RELEASED.compareAndExchange(this, null, mine);
      if (c == null) {
        c = mine;
      }
    }
    return c;
  }

  /** One pwq is done with the colour being flushed; true for the last one. */
  boolean pwqFlushed() {
    return (int) NR_PWQS_TO_FLUSH.getAndAdd(this, -1) == 1;
  }

  /** The node entry for a pool on {@code node} (-1: the fallback), or null for per-CPU. */
  NodeNrActive nodeNrActive(int node) {
    Object n = nodeNrActive;
    if (n == null || n instanceof NodeNrActive) {
      return (NodeNrActive) n;
    }
    NodeNrActive[] perNode = (NodeNrActive[]) n;
    return perNode[node < 0 ? perNode.length - 1 : node];
  }

  boolean savedMaxActiveIsOne() {
    return savedMaxActive == 1;
  }

  // ---- attributes (apply_workqueue_attrs) -------------------------------------------------

  /** {@code struct apply_wqattrs_ctx}: the new pwqs, then the old ones to drop. */
  final class ApplyContext {
    PoolWorkqueue dfl;
    PoolWorkqueue[] tbl = new PoolWorkqueue[system.nrCpus];
    WorkqueueAttrs attrs;

    /**
     * Every CPU got the default pwq (one pod, or ordered): no table; the slots' references are
     * given back, so the default pwq holds only its own (ThreadEconomy: 24 B and no per-CPU
     * bookkeeping for most unbound workqueues). Not yet visible: no lock needed.
     */
    void dropTableIfAllDefault() {
      for (PoolWorkqueue pwq : tbl) {
        if (pwq != dfl) {
          return;
        }
      }
      dfl.refcnt -= tbl.length;
      tbl = null;
    }

    /** {@code apply_wqattrs_cleanup}: drops the references the context holds. */
    void cleanup() {
      if (tbl != null) {
        for (PoolWorkqueue pwq : tbl) {
          if (pwq != null) {
            pwq.unrefUnlocked();
          }
        }
      }
      if (dfl != null) {
        dfl.unrefUnlocked();
      }
    }
  }

  /**
   * {@code apply_workqueue_attrs}: builds a complete new set of pwqs (a default one, and for each
   * CPU one on the shared pool of the CPU's pod; CPUs whose pod resolves to the same pool share
   * its pwq) and installs them at once. Items already queued
   * finish on the old pwqs, which are released when drained. All or nothing: if a new pool
   * cannot get its first worker thread nothing changes.
   *
   * <p>Ordered workqueues accept it too (Linux 6.9+): their new pwq starts plugged and only runs
   * once every older one has drained, so the order of items is kept.
   *
   * @throws IllegalStateException for per-CPU or destroyed workqueues, or when a worker thread
   *     for a new pool cannot be created
   * @throws IllegalArgumentException if the cpumask has none of the system's CPUs
   */
  public void applyAttrs(WorkqueueAttrs attrs) {
    Checks.notNull(attrs, "attrs");
    if ((flags & WQ_UNBOUND) == 0) {
      throw new IllegalStateException("applyAttrs: " + name
          + " is a per-CPU workqueue (expected: an unbound workqueue)");
    }
    if ((flags & __WQ_DESTROYING) != 0) {
      throw new IllegalStateException("applyAttrs: workqueue " + name + " is destroyed");
    }
    system.poolMutex.lock();
    try {
      ApplyContext ctx = prepare(attrs, system.unboundCpumask);
      commit(ctx);
      ctx.cleanup();
    } finally {
      system.poolMutex.unlock();
    }
  }

  /** Prepares this workqueue's current attributes against another unbound cpumask. */
  ApplyContext prepareForCpumask(CpuMask unboundMask) {
    return prepare(unboundAttrs, unboundMask);
  }

  /**
   * {@code apply_wqattrs_prepare}: builds the new pwqs for {@code attrs} with CPUs limited to
   * {@code unboundMask}; nothing is visible yet. Pool mutex held.
   */
  ApplyContext prepare(WorkqueueAttrs attrs, CpuMask unboundMask) {
    CpuMask possible = system.topology.possible();
    CpuMask requested = attrs.cpumask().and(possible);
    if (requested.isEmpty()) {
      throw new IllegalArgumentException("cpumask: " + attrs.cpumask().toList()
          + " (expected: at least one of CPUs " + possible.toList() + ")");
    }
    CpuMask effective = requested.and(unboundMask);
    if (effective.isEmpty()) {
      effective = unboundMask;
    }
    boolean ordered = (flags & __WQ_ORDERED) != 0;
    Topology.PodType pt = system.topology.pods(attrs.affinityScope());
    ApplyContext ctx = new ApplyContext();
    try {
      ctx.dfl = allocUnboundPwq(new PoolAttrs(attrs.nice(), effective, effective,
          attrs.affinityStrict()));
      for (int cpu = 0; cpu < ctx.tbl.length; cpu++) {
        if (ordered) {
          ctx.tbl[cpu] = ctx.dfl;
          ctx.dfl.refcnt++; // not yet visible to anyone: no lock needed
        } else {
          CpuMask pod = pt.podCpus[pt.cpuPod[cpu]].and(effective);
          if (pod.isEmpty()) {
            pod = effective;
          }
          ctx.tbl[cpu] = sharedOrNewPwq(ctx, cpu, new PoolAttrs(attrs.nice(), effective, pod,
              attrs.affinityStrict()));
        }
      }
    } catch (RuntimeException e) {
      ctx.cleanup();
      throw e;
    }
    ctx.attrs = system.shareAttrs(attrs.withCpumask(requested));
    ctx.dropTableIfAllDefault();
    if (ordered && dflPwq != null) {
      ctx.dfl.plugged = true; // runs nothing until the older pwqs are gone
    }
    return ctx;
  }

  /**
   * The pwq for {@code cpu}: one already prepared for the same pool (the default one, or another
   * CPU's of the same pod) gains a reference; otherwise a new one. Linux 6.6+ allocates one pwq
   * per CPU even when CPUs share a pool; since 6.9 max_active is node-wide ({@link
   * NodeNrActive}), so pwqs of the same pool differ only in cost: on a one-pod machine every
   * unbound workqueue has a single pwq (as kernels before 6.6 reused the default pwq when a
   * node's cpumask equalled it). Keeps idle unbound workqueues small (ThreadEconomy).
   */
  private PoolWorkqueue sharedOrNewPwq(ApplyContext ctx, int cpu, PoolAttrs poolAttrs) {
    if (ctx.dfl.pool.attrs.equals(poolAttrs)) {
      ctx.dfl.refcnt++; // not yet visible to anyone: no lock needed
      return ctx.dfl;
    }
    for (int c = 0; c < cpu; c++) {
      PoolWorkqueue pwq = ctx.tbl[c];
      if (pwq.pool.attrs.equals(poolAttrs)) {
        pwq.refcnt++;
        return pwq;
      }
    }
    return allocUnboundPwq(poolAttrs);
  }

  private PoolWorkqueue allocUnboundPwq(PoolAttrs poolAttrs) {
    return new PoolWorkqueue(this, system.getUnboundPool(poolAttrs));
  }

  /** {@code apply_wqattrs_commit}: installs the new pwqs; the context keeps the old ones. */
  void commit(ApplyContext ctx) {
    mutex.lock();
    try {
      unboundAttrs = ctx.attrs;
      PoolWorkqueue[] tbl = ctx.tbl;
      if (tbl != null) {
        for (PoolWorkqueue pwq : tbl) {
          linkPwq(pwq);
        }
      }
      linkPwq(ctx.dfl);
      PoolWorkqueue[] oldTbl = cpuPwq;
      PoolWorkqueue oldDfl = dflPwq;
      dflPwq = ctx.dfl;
      cpuPwq = tbl;
      ctx.tbl = oldTbl;
      ctx.dfl = oldDfl;
      updateNodeMaxActive();
    } finally {
      mutex.unlock();
    }
  }

  /** {@code link_pwq}: joins the current flush epoch and the pwq list (oldest first). Mutex held. */
  private void linkPwq(PoolWorkqueue pwq) {
    if (pwq.linked) {
      return;
    }
    pwq.workColor = (byte) workColor;
    pwq.linked = true;
    PoolWorkqueue[] l = Arrays.copyOf(pwqs, pwqs.length + 1);
    l[l.length - 1] = pwq;
    pwqs = l;
  }

  /**
   * The release side of a pwq (on the release thread): unlinks it, keeps its statistics,
   * unplugs the oldest remaining pwq of an ordered workqueue. Returns whether it was the last.
   */
  boolean unlinkReleasedPwq(PoolWorkqueue pwq) {
    mutex.lock();
    try {
      PoolWorkqueue[] l = pwqs;
      int i = Arrays.asList(l).indexOf(pwq);
      PoolWorkqueue[] n = new PoolWorkqueue[l.length - 1];
      System.arraycopy(l, 0, n, 0, i);
      System.arraycopy(l, i + 1, n, i, l.length - i - 1);
      pwqs = n;
      pwq.linked = false;
      if (retiredStats == null) {
        retiredStats = new long[PoolWorkqueue.PWQ_NR_STATS];
      }
      for (int s = 0; s < retiredStats.length; s++) {
        retiredStats[s] += pwq.stat(s);
      }
      boolean isLast = n.length == 0;
      if (!isLast && (flags & __WQ_ORDERED) != 0) {
        unplugOldestPwq();
      }
      return isLast;
    } finally {
      mutex.unlock();
    }
  }

  /**
   * {@code unplug_oldest_pwq}: lets the oldest pwq of an ordered workqueue run. The first
   * activation takes the single slot ("fill"); the second, if more items wait, puts the pwq on
   * the node's pending list so that every accumulated item is activated in turn (the
   * v7.0-rc7 fix: before it, items after the first stalled). Mutex held.
   */
  private void unplugOldestPwq() {
    PoolWorkqueue pwq = pwqs[0];
    pwq.pool.lock.lock();
    try {
      if (pwq.plugged) {
        pwq.plugged = false;
        if (pwq.activateFirstInactive(true)) {
          pwq.activateFirstInactive(false);
          pwq.pool.kickPool();
        }
      }
    } finally {
      pwq.pool.lock.unlock();
    }
  }

  /**
   * The attributes: for unbound workqueues as last applied (cpumask restricted to the system's
   * CPUs); for per-CPU ones a description of their pools (nice 0 or -20, every CPU).
   */
  public WorkqueueAttrs attrs() {
    WorkqueueAttrs a = unboundAttrs;
    if (a != null) {
      return a;
    }
    return WorkqueueAttrs.defaults()
        .withNice((flags & WQ_HIGHPRI) != 0 ? WorkerPool.HIGHPRI_NICE_LEVEL : 0)
        .withCpumask(system.topology.possible());
  }

  // ---- queries ----------------------------------------------------------------------------

  /**
   * The pwq queueing on {@code cpu} uses now (a lock-free snapshot). With no table the default
   * pwq serves every CPU; racing an attribute change this may pair the old table's absence with
   * the new default pwq or the reverse, and either is a pwq that was installed: a released one
   * is seen at refcount zero and retried by the caller, as with any stale slot.
   */
  PoolWorkqueue pwqForCpu(int cpu) {
    PoolWorkqueue[] tbl = cpuPwq;
    return tbl != null ? tbl[cpu] : dflPwq;
  }

  /**
   * {@code workqueue_congested}: whether items wait for an active slot on {@code cpu}'s pwq
   * ({@link #ANY_CPU}: the caller's). Advisory.
   */
  public boolean isCongested(int cpu) {
    if (cpu == ANY_CPU) {
      cpu = system.localCpu(Worker.current());
    } else {
      Checks.inRange(cpu, 0, system.nrCpus - 1, "cpu");
    }
    PoolWorkqueue pwq = pwqForCpu(cpu);
    pwq.pool.lock.lock();
    try {
      return pwq.hasInactive();
    } finally {
      pwq.pool.lock.unlock();
    }
  }

  /** The name. */
  public String name() {
    return name;
  }

  /** The flags it was created with ({@link WqFlag#UNBOUND} included for ordered workqueues). */
  public Set<WqFlag> flags() {
    int f = flags;
    EnumSet<WqFlag> s = EnumSet.noneOf(WqFlag.class);
    int[] bits = {WQ_UNBOUND, WQ_FREEZABLE, WQ_MEM_RECLAIM, WQ_HIGHPRI, WQ_CPU_INTENSIVE,
        WQ_SYSFS, WQ_POWER_EFFICIENT, __WQ_ORDERED};
    WqFlag[] names = {WqFlag.UNBOUND, WqFlag.FREEZABLE, WqFlag.MEM_RECLAIM, WqFlag.HIGHPRI,
        WqFlag.CPU_INTENSIVE, WqFlag.SYSFS, WqFlag.POWER_EFFICIENT, WqFlag.ORDERED};
    for (int i = 0; i < bits.length; i++) {
      if ((f & bits[i]) != 0) {
        s.add(names[i]);
      }
    }
    return s;
  }

  /** max_active as set ({@code saved_max_active}). */
  public int maxActive() {
    return savedMaxActive;
  }

  /** Whether items run one at a time in queueing order. */
  public boolean isOrdered() {
    return (flags & __WQ_ORDERED) != 0;
  }

  /** The system this workqueue belongs to. */
  public WorkqueueSystem system() {
    return system;
  }

  /** Statistics summed over this workqueue's pwqs, including released ones. */
  public WorkqueueStats stats() {
    long[] s;
    mutex.lock();
    try {
      s = retiredStats != null ? retiredStats.clone() : new long[PoolWorkqueue.PWQ_NR_STATS];
      for (PoolWorkqueue pwq : pwqs) {
        for (int i = 0; i < s.length; i++) {
          s[i] += pwq.stat(i);
        }
      }
    } finally {
      mutex.unlock();
    }
    return new WorkqueueStats(s[PoolWorkqueue.PWQ_STAT_STARTED],
        s[PoolWorkqueue.PWQ_STAT_COMPLETED], s[PoolWorkqueue.PWQ_STAT_CPU_TIME],
        s[PoolWorkqueue.PWQ_STAT_CPU_INTENSIVE], s[PoolWorkqueue.PWQ_STAT_CM_WAKEUP],
        s[PoolWorkqueue.PWQ_STAT_REPATRIATED], s[PoolWorkqueue.PWQ_STAT_MAYDAY],
        s[PoolWorkqueue.PWQ_STAT_RESCUED], s[PoolWorkqueue.PWQ_STAT_FAILED]);
  }

  /** Linked pwqs, oldest first (dumps, tests). */
  PoolWorkqueue[] pwqs() {
    return pwqs;
  }

  /** The pwq of every CPU slot (dumps, tests). */
  PoolWorkqueue[] cpuPwqs() {
    PoolWorkqueue[] tbl = new PoolWorkqueue[system.nrCpus];
    for (int cpu = 0; cpu < tbl.length; cpu++) {
      tbl[cpu] = pwqForCpu(cpu);
    }
    return tbl;
  }

  /** The default pwq, null for per-CPU workqueues. */
  PoolWorkqueue dflPwq() {
    return dflPwq;
  }

  void handleException(Work work, Throwable error) {
    try {
      handler.uncaughtException(this, work, error);
    } catch (Throwable t) {
      Warn.always("workqueue " + name + ": exception handler threw", t);
    }
  }

  @Override
  public String toString() {
    return "Workqueue[" + name + "]";
  }

  // ---- builder ----------------------------------------------------------------------------

  /**
   * {@code alloc_workqueue} / {@code alloc_ordered_workqueue} arguments. Each flag method sets
   * the kernel flag of the same name.
   */
  public static final class Builder {
    private final WorkqueueSystem system;
    private final String name;
    private int flags;
    private int maxActive;
    private boolean maxActiveSet;
    private ExceptionHandler handler = LOG_HANDLER;

    Builder(WorkqueueSystem system, String name) {
      this.system = system;
      Checks.notNull(name, "name");
      if (name.isEmpty()) {
        throw new IllegalArgumentException("name: \"\" (expected: a non-empty name)");
      }
      if (name.length() > WQ_NAME_LEN - 1) {
        Warn.once("wq-name-" + name, "workqueue: name exceeds " + (WQ_NAME_LEN - 1)
            + " characters and will be truncated: " + name);
        name = name.substring(0, WQ_NAME_LEN - 1);
      }
      this.name = name;
    }

    /** {@code WQ_UNBOUND}. */
    public Builder unbound() {
      flags |= WQ_UNBOUND;
      return this;
    }

    /** {@code WQ_FREEZABLE}. */
    public Builder freezable() {
      flags |= WQ_FREEZABLE;
      return this;
    }

    /** {@code WQ_MEM_RECLAIM}. */
    public Builder memReclaim() {
      flags |= WQ_MEM_RECLAIM;
      return this;
    }

    /** {@code WQ_HIGHPRI}. */
    public Builder highPri() {
      flags |= WQ_HIGHPRI;
      return this;
    }

    /** {@code WQ_CPU_INTENSIVE} (meaningful for per-CPU workqueues only). */
    public Builder cpuIntensive() {
      flags |= WQ_CPU_INTENSIVE;
      return this;
    }

    /** {@code WQ_SYSFS}. */
    public Builder sysfs() {
      flags |= WQ_SYSFS;
      return this;
    }

    /** {@code WQ_POWER_EFFICIENT}: unbound when the system is in power-efficient mode. */
    public Builder powerEfficient() {
      flags |= WQ_POWER_EFFICIENT;
      return this;
    }

    /** {@code alloc_ordered_workqueue}: unbound, one item at a time in queueing order. */
    public Builder ordered() {
      flags |= WQ_UNBOUND | __WQ_ORDERED;
      return this;
    }

    /**
     * max_active: 0 (the default) means 256; values above 512 are clamped with a warning.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder maxActive(int maxActive) {
      Checks.atLeast(maxActive, 0, "maxActive");
      this.maxActive = maxActive;
      this.maxActiveSet = true;
      return this;
    }

    /** Who hears about exceptions thrown by work functions (default: logged at WARNING). */
    public Builder uncaughtExceptionHandler(ExceptionHandler handler) {
      this.handler = Checks.notNull(handler, "handler");
      return this;
    }

    /** Flags for system workqueues. */
    Builder internalFlags(int f) {
      flags |= f;
      return this;
    }

    /**
     * Creates the workqueue.
     *
     * @throws IllegalStateException for conflicting options (ordered with max_active other
     *     than 1, sysfs on an ordered workqueue), on a closed system, or when an unbound pool
     *     cannot get its first worker thread
     */
    public Workqueue build() {
      int f = flags;
      int max;
      if ((f & __WQ_ORDERED) != 0) {
        if (maxActiveSet && maxActive != 1) {
          throw new IllegalStateException("ordered workqueue " + name + ": maxActive "
              + maxActive + " (expected: 1 or unset)");
        }
        if ((f & WQ_SYSFS) != 0) {
          throw new IllegalStateException("ordered workqueue " + name
              + " cannot be sysfs-tunable (its max_active and attributes are fixed)");
        }
        max = 1;
      } else {
        max = clampMaxActive(maxActive, name);
      }
      if ((f & WQ_POWER_EFFICIENT) != 0 && system.powerEfficient) {
        f |= WQ_UNBOUND;
      }
      system.checkOpen();
      return alloc(system, name, f, max, handler);
    }
  }
}
