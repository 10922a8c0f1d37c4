package dev.cmwq;

import dev.cmwq.kthread.KthreadWorker;
import dev.cmwq.timer.TimerBase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.function.Consumer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The kernel's workqueue globals made explicit: the per-CPU pools, the shared unbound pools,
 * the system workqueues, the {@code pool_workqueue_release} worker and the sampling tick.
 *
 * <p>Most programs use {@link #getDefault()} (created on first use, daemon threads, never
 * closed). Tests and embedders build their own with {@link #builder()} and {@link #close()} it.
 *
 * <pre>{@code
 * try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(4).build()) {
 *   Workqueue wq = sys.workqueue("mydriver").unbound().build();
 *   ...
 * }
 * }</pre>
 *
 * <p>Threads: two per CPU at start ({@code kworker/N:0} and {@code kworker/N:0H}), more only
 * when running workers block; one per unbound pool in use; {@code pool_workqueue_release}; and
 * the sampling tick {@code wq_worker_tick}. Never one per workqueue.
 */
public final class WorkqueueSystem implements AutoCloseable {
  /** Default {@code workqueue.watchdog_thresh}: 30 s. */
  public static final Duration DEFAULT_WATCHDOG_THRESHOLD = Duration.ofSeconds(30);
  /** Default {@code wq_cpu_intensive_thresh_us}: 10 ms. */
  public static final Duration DEFAULT_CPU_INTENSIVE_THRESHOLD = Duration.ofMillis(10);
  /** {@code IDLE_WORKER_TIMEOUT}: 300 s. */
  public static final Duration DEFAULT_IDLE_WORKER_TIMEOUT = Duration.ofSeconds(300);
  /** Default {@link Builder#idleSpin}: 20 µs. */
  public static final Duration DEFAULT_IDLE_SPIN = Duration.ofNanos(20_000);
  /** The longest {@link Builder#idleSpin}: 10 ms. */
  static final Duration MAX_IDLE_SPIN = Duration.ofMillis(10);

  private static final class DefaultHolder {
    static final WorkqueueSystem INSTANCE = builder().asDefault().build();
  }

  /** I: logical CPUs. */
  final int nrCpus;
  /** I: the machine. */
  final Topology topology;
  /** I: makes every thread of the system. */
  final ThreadFactory threadFactory;
  /** I: watchdog threshold in ns, 0 = off. */
  final long watchdogThreshNanos;
  /** I: told about every lockup the watchdog reports. */
  final Consumer<Lockup> lockupHandler;
  /** I: CPU-hog threshold in ns, 0 = off. */
  final long cpuIntensiveThreshNanos;
  /** I: idle worker timeout in ns. */
  final long idleTimeoutNanos;
  /**
   * I: how long a worker that has just run out of items polls for a wake-up before it parks
   * (ns; 0: it parks at once). See {@link Builder#idleSpin}.
   */
  final long idleSpinNanos;
  /** I: power-efficient mode ({@code workqueue.power_efficient}). */
  final boolean powerEfficient;
  /** I: [cpu][0 normal, 1 highpri]. */
  private final WorkerPool[][] cpuPools;
  /** {@code wq_pool_mutex}: unbound pools, the workqueue list, attribute changes. */
  final MutexLock poolMutex = new MutexLock(Lockdep.LockClass.POOL_MUTEX, "wq_pool_mutex");
  /** {@code wq_mayday_lock}: every workqueue's mayday list; nested inside pool locks. */
  final Lockdep.Lock maydayLock = new Lockdep.Lock(Lockdep.LockClass.MAYDAY_LOCK, "wq_mayday_lock");
  /** PL: unbound pools by attributes ({@code unbound_pool_hash}). */
  private final Map<PoolAttrs, WorkerPool> unboundPoolHash = new HashMap<>();
  /** PL to write, racy reads: CPUs unbound workqueues may use ({@code wq_unbound_cpumask}). */
  volatile CpuMask unboundCpumask;
  /** V (concurrent set): every live pool of this system, per-CPU and unbound (watchdog, dumps). */
  private final Set<WorkerPool> pools = ConcurrentHashMap.newKeySet();
  /**
   * PL: every workqueue, in creation order ({@code workqueues}): an intrusive list through
   * {@link Workqueue#listPrev}/{@link Workqueue#listNext}, so registering allocates nothing
   * (ThreadEconomy: a set entry was 40 B per workqueue).
   */
  private Workqueue firstWq;
  /** PL: the last workqueue of the list. */
  private Workqueue lastWq;
  /** PL: the attributes last installed on an unbound workqueue, shared by equal ones. */
  private WorkqueueAttrs lastUnboundAttrs;
  /** I: releases pwqs ({@code pwq_release_worker}). */
  final KthreadWorker releaseWorker;
  /** I: the timers of delayed work ({@code wq_timer}). */
  final TimerBase timers;
  /** I: concurrency-management sampling and timers. */
  final SamplingTick tick;
  /** R: round-robin cursor for unbound CPU selection (racy by design, like the kernel's). */
  private int unboundRrCursor;
  /** V: set by close(). */
  private volatile boolean closing;
  /** PL to write, racy reads ({@code workqueue_freezing}): a freeze is in progress. */
  private volatile boolean freezing;
  /** I: this is {@link #getDefault()}. */
  private final boolean isDefault;
  /** I: the name JMX uses ({@code "default"} for {@link #getDefault()}). */
  private final String name;
  /** I: whether MBeans are registered for the system and its workqueues. */
  private final boolean jmx;
  /** V: the system's MBean name, null when not registered ({@code javax.management.ObjectName}). */
  private volatile Object mbean;
  /** V: workqueue lifecycle observers. */
  private final java.util.List<WorkqueueListener> listeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Numbers unnamed systems. */
  private static final java.util.concurrent.atomic.AtomicInteger SYSTEMS =
      new java.util.concurrent.atomic.AtomicInteger();

  /** V: pwq releases started (tests of the release path). */
  final AtomicLong releasesStarted = new AtomicLong();
  /** V: releases that found the releasing thread holding a pool lock; must stay 0. */
  final AtomicLong releasesUnderPoolLock = new AtomicLong();
  /** V: releases run on a thread other than {@code pool_workqueue_release}; must stay 0. */
  final AtomicLong releasesOffThread = new AtomicLong();

  private final Workqueue systemWq;
  private final Workqueue systemHighpriWq;
  private final Workqueue systemLongWq;
  private final Workqueue systemUnboundWq;
  private final Workqueue systemFreezableWq;
  private final Workqueue systemPowerEfficientWq;
  private final Workqueue systemFreezablePowerEfficientWq;

  private WorkqueueSystem(Builder b) {
    if (b.topology != null && b.cpus > 0 && b.topology.cpus() != b.cpus) {
      throw new IllegalArgumentException("cpus: " + b.cpus + " (expected: " + b.topology.cpus()
          + ", the CPUs of the given topology)");
    }
    this.topology = b.topology != null ? b.topology
        : b.cpus > 0 ? Topology.flat(b.cpus) : Topology.detect();
    this.nrCpus = topology.cpus();
    this.threadFactory = b.threadFactory;
    this.cpuIntensiveThreshNanos = b.cpuIntensiveThreshold.toNanos();
    this.watchdogThreshNanos = Checks.saturatedNanos(b.watchdogThreshold);
    this.lockupHandler = b.lockupHandler;
    this.idleTimeoutNanos = b.idleWorkerTimeout.toNanos();
    this.idleSpinNanos = b.idleSpin.toNanos();
    this.powerEfficient = b.powerEfficient;
    this.isDefault = b.isDefault;
    this.name = b.name != null ? b.name
        : b.isDefault ? Jmx.DEFAULT_SYSTEM : "cmwq-" + SYSTEMS.incrementAndGet();
    this.jmx = b.jmx;
    this.unboundCpumask = topology.possible();
    // The release worker comes first: pwqs may be released from the very first failure path.
    this.releaseWorker = KthreadWorker.create("pool_workqueue_release", threadFactory);
    this.tick = new SamplingTick(this);
    TimerBase timerBase;
    try {
      timerBase = new TimerBase("wq_timer", threadFactory);
    } catch (RuntimeException | Error e) {
      releaseWorker.destroy();
      throw e;
    }
    this.timers = timerBase;
    this.cpuPools = new WorkerPool[nrCpus][WorkerPool.NR_STD_WORKER_POOLS];
    try {
      for (int cpu = 0; cpu < nrCpus; cpu++) {
        for (int pri = 0; pri < WorkerPool.NR_STD_WORKER_POOLS; pri++) {
          int nice = pri == 0 ? 0 : WorkerPool.HIGHPRI_NICE_LEVEL;
          CpuMask self = CpuMask.of(cpu);
          WorkerPool pool = new WorkerPool(this, cpu, topology.nodeOf(cpu),
              new PoolAttrs(nice, self, self, true));
          cpuPools[cpu][pri] = pool;
          pools.add(pool);
          if (pool.createWorker() == null) {
            throw new IllegalStateException("cannot create the first worker of " + pool);
          }
        }
      }
      tick.start(cpuPoolList());
      systemWq = workqueue("events").internalFlags(Workqueue.__WQ_SYSTEM).build();
      systemHighpriWq = workqueue("events_highpri").highPri()
          .internalFlags(Workqueue.__WQ_SYSTEM).build();
      systemLongWq = workqueue("events_long").internalFlags(Workqueue.__WQ_SYSTEM).build();
      systemUnboundWq = workqueue("events_unbound").unbound().maxActive(Workqueue.WQ_MAX_ACTIVE)
          .internalFlags(Workqueue.__WQ_SYSTEM).build();
      systemFreezableWq = workqueue("events_freezable").freezable()
          .internalFlags(Workqueue.__WQ_SYSTEM).build();
      systemPowerEfficientWq = workqueue("events_power_efficient").powerEfficient()
          .internalFlags(Workqueue.__WQ_SYSTEM).build();
      systemFreezablePowerEfficientWq = workqueue("events_freezable_pwr_efficient").freezable()
          .powerEfficient().internalFlags(Workqueue.__WQ_SYSTEM).build();
    } catch (RuntimeException | Error e) {
      shutdown();
      throw e;
    }
    if (jmx) {
      try {
        mbean = Jmx.registerSystem(this);
      } catch (LinkageError e) {
        Warn.once("jmx-unavailable", "workqueue: JMX beans are off (" + e + ")");
      }
    }
  }

  /** The process-wide system: created on first use with default settings, never closed. */
  public static WorkqueueSystem getDefault() {
    return DefaultHolder.INSTANCE;
  }

  /** A builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** {@code alloc_workqueue}, via a builder. */
  public Workqueue.Builder workqueue(String name) {
    return new Workqueue.Builder(this, name);
  }

  /** {@code system_wq} ({@code events}): per-CPU, for short items. */
  public Workqueue system() {
    return systemWq;
  }

  /** {@code system_highpri_wq} ({@code events_highpri}). */
  public Workqueue systemHighpri() {
    return systemHighpriWq;
  }

  /** {@code system_long_wq} ({@code events_long}): per-CPU, may host long items. */
  public Workqueue systemLong() {
    return systemLongWq;
  }

  /** {@code system_unbound_wq} ({@code events_unbound}): not concurrency managed, max_active 512. */
  public Workqueue systemUnbound() {
    return systemUnboundWq;
  }

  /** {@code system_freezable_wq} ({@code events_freezable}). */
  public Workqueue systemFreezable() {
    return systemFreezableWq;
  }

  /** {@code system_power_efficient_wq} ({@code events_power_efficient}). */
  public Workqueue systemPowerEfficient() {
    return systemPowerEfficientWq;
  }

  /** {@code system_freezable_power_efficient_wq} ({@code events_freezable_pwr_efficient}). */
  public Workqueue systemFreezablePowerEfficient() {
    return systemFreezablePowerEfficientWq;
  }

  /** Logical CPUs. */
  public int cpus() {
    return nrCpus;
  }

  /** The topology in use. */
  public Topology topology() {
    return topology;
  }

  /**
   * {@code show_all_workqueues()}: busy workqueues with their pwqs (in-flight, pending and
   * inactive items) and pools with busy workers, in the kernel's format. Empty of entries when
   * everything is idle.
   */
  public String dump() {
    return Dump.showAllWorkqueues(this);
  }

  /**
   * {@code wq_dump.py}: the configuration: affinity scopes and pods, worker pools, the pool
   * serving each CPU of each workqueue, rescuers, and per-node nr_active/max_active of unbound
   * workqueues.
   */
  public String wqDump() {
    return WqDump.render(this);
  }

  /**
   * A pool that had items waiting and made no forward progress for the watchdog threshold
   * ({@code BUG: workqueue lockup}).
   *
   * @param poolId   the pool's id, as in {@link #dump()}
   * @param pool     the pool as the kernel prints it ({@code cpus=0 node=0 flags=0x0 nice=0})
   * @param stuckFor time since the pool last made progress
   * @param report   the full report: the BUG lines, the dump, the stacks of the stalled workers
   */
  public record Lockup(int poolId, String pool, Duration stuckFor, String report) {}

  /** Every live workqueue, in creation order (system ones first). */
  public List<Workqueue> workqueues() {
    poolMutex.lock();
    try {
      List<Workqueue> all = new ArrayList<>();
      for (Workqueue wq = firstWq; wq != null; wq = wq.listNext) {
        all.add(wq);
      }
      return Collections.unmodifiableList(all);
    } finally {
      poolMutex.unlock();
    }
  }

  // ---- unbound cpumask ----------------------------------------------------------------------

  /** The CPUs unbound workqueues may use ({@code wq_unbound_cpumask}). */
  public CpuMask unboundCpumask() {
    return unboundCpumask;
  }

  /**
   * {@code workqueue_set_unbound_cpumask}: restricts every unbound workqueue to {@code mask}
   * (within each one's own cpumask; a workqueue whose cpumask has none of these CPUs uses the
   * whole mask). All workqueues are prepared first and the change is committed only if every
   * one could get its pools: all or nothing. Ordered workqueues keep their order (the new pwq
   * waits, plugged, until the old one drains). Items already queued finish where they are.
   *
   * @throws IllegalArgumentException if {@code mask} has none of the system's CPUs
   * @throws IllegalStateException if a new pool cannot get its first worker thread (nothing
   *     changed)
   */
  public void setUnboundCpumask(CpuMask mask) {
    Checks.notNull(mask, "mask");
    CpuMask m = mask.and(topology.possible());
    if (m.isEmpty()) {
      throw new IllegalArgumentException("mask: " + mask.toList() + " (expected: at least one of"
          + " CPUs " + topology.possible().toList() + ")");
    }
    poolMutex.lock();
    try {
      if (m.equals(unboundCpumask)) {
        return;
      }
      List<Workqueue> targets = new ArrayList<>();
      List<Workqueue.ApplyContext> prepared = new ArrayList<>();
      try {
        for (Workqueue wq = firstWq; wq != null; wq = wq.listNext) {
          if ((wq.flags & Workqueue.WQ_UNBOUND) != 0
              && (wq.flags & Workqueue.__WQ_DESTROYING) == 0) {
            prepared.add(wq.prepareForCpumask(m));
            targets.add(wq);
          }
        }
      } catch (RuntimeException | Error e) {
        for (Workqueue.ApplyContext ctx : prepared) {
          ctx.cleanup();
        }
        throw e;
      }
      unboundCpumask = m;
      for (int i = 0; i < targets.size(); i++) {
        targets.get(i).commit(prepared.get(i));
        prepared.get(i).cleanup();
      }
    } finally {
      poolMutex.unlock();
    }
  }

  // ---- freezer ----------------------------------------------------------------------------

  /**
   * {@code freeze_workqueues_begin}: every {@link WqFlag#FREEZABLE} workqueue gets max_active 0,
   * so nothing more starts on it: newly queued items wait (in order) on the inactive lists;
   * items already running finish. Workqueues created meanwhile start frozen.
   *
   * @throws IllegalStateException if a freeze is already in progress
   */
  public void freezeBegin() {
    poolMutex.lock();
    try {
      if (freezing) {
        throw new IllegalStateException("freezeBegin: workqueues are already freezing");
      }
      freezing = true;
      adjustAllMaxActive();
    } finally {
      poolMutex.unlock();
    }
  }

  /**
   * {@code freeze_workqueues_busy}: whether any freezable workqueue still has items active
   * (running or ready to run). The freeze is complete once this is false.
   *
   * @throws IllegalStateException if no freeze is in progress
   */
  public boolean isFreezeBusy() {
    poolMutex.lock();
    try {
      if (!freezing) {
        throw new IllegalStateException("isFreezeBusy: no freeze in progress (call freezeBegin)");
      }
      for (Workqueue wq = firstWq; wq != null; wq = wq.listNext) {
        if ((wq.flags & Workqueue.WQ_FREEZABLE) != 0 && wq.hasActiveItems()) {
          return true;
        }
      }
      return false;
    } finally {
      poolMutex.unlock();
    }
  }

  /**
   * {@code thaw_workqueues}: ends the freeze; max_active is restored and the items that waited
   * start, in the order they were queued. No-op when not freezing.
   */
  public void thaw() {
    poolMutex.lock();
    try {
      if (!freezing) {
        return;
      }
      freezing = false;
      adjustAllMaxActive();
    } finally {
      poolMutex.unlock();
    }
  }

  /** Whether a freeze is in progress. */
  public boolean isFreezing() {
    return freezing;
  }

  /** Pool mutex held. */
  private void adjustAllMaxActive() {
    for (Workqueue wq = firstWq; wq != null; wq = wq.listNext) {
      wq.mutex.lock();
      try {
        wq.adjustMaxActive();
      } finally {
        wq.mutex.unlock();
      }
    }
  }

  /**
   * {@code work_on_cpu}: runs {@code fn} on a worker of {@code cpu}'s pool (through
   * {@link #system()}) and returns its result, waiting for it.
   *
   * @throws Exception whatever {@code fn} threw
   * @throws IllegalArgumentException if {@code cpu} is not a CPU of the system
   */
  public <T> T workOnCpu(int cpu, Callable<T> fn) throws Exception {
    Checks.notNull(fn, "fn");
    Checks.inRange(cpu, 0, nrCpus - 1, "cpu");
    Object[] result = new Object[1];
    Exception[] failure = new Exception[1];
    Work work = new Work(() -> {
      try {
        result[0] = fn.call();
      } catch (Exception e) {
        failure[0] = e;
      }
    });
    systemWq.queueWorkOn(cpu, work);
    work.flush();
    if (failure[0] != null) {
      throw failure[0];
    }
    @SuppressWarnings("unchecked")
    T t = (T) result[0];
    return t;
  }

  /**
   * Destroys every workqueue (user ones first, newest first, then the system ones), waits for
   * the pwq releases, and stops every thread. Items still queued run before their workqueue is
   * destroyed. Idempotent. The {@linkplain #getDefault() default system} cannot be closed.
   *
   * @throws IllegalStateException for the default system, or from one of this system's workers
   */
  @Override
  public void close() {
    if (isDefault) {
      throw new IllegalStateException("the default WorkqueueSystem lives as long as the JVM");
    }
    Worker self = Worker.current();
    if (self != null && self.system() == this) {
      throw new IllegalStateException("close() of a WorkqueueSystem from one of its own workers"
          + " would wait for itself");
    }
    shutdown();
  }

  private void shutdown() {
    synchronized (this) {
      if (closing) {
        return;
      }
      closing = true;
    }
    List<Workqueue> all = new ArrayList<>(workqueues());
    java.util.Collections.reverse(all);
    all.sort((a, b) -> Boolean.compare((a.flags & Workqueue.__WQ_SYSTEM) != 0,
        (b.flags & Workqueue.__WQ_SYSTEM) != 0));
    for (Workqueue wq : all) {
      wq.destroy();
    }
    releaseWorker.flush();
    if (cpuPools != null) {
      for (WorkerPool[] pools : cpuPools) {
        for (WorkerPool pool : pools) {
          if (pool != null) {
            pool.destroy();
          }
        }
      }
    }
    tick.stop();
    timers.close();
    releaseWorker.destroy();
    Object bean = mbean;
    if (bean != null) {
      mbean = null;
      Jmx.unregister((javax.management.ObjectName) bean);
    }
  }

  /** The system's name: what JMX object names and dumps call it. */
  public String name() {
    return name;
  }

  // ---- workqueue lifecycle observers ---------------------------------------------------------

  /**
   * Observes workqueues being created and destroyed (metrics binders, tools). Callbacks run on
   * the thread that created or destroyed the workqueue, with no engine lock held; an exception
   * is logged and otherwise ignored.
   */
  public interface WorkqueueListener {
    /** {@code wq} was created and can be used. */
    default void created(Workqueue wq) {}

    /** {@code wq} was destroyed (also when its system closes). */
    default void destroyed(Workqueue wq) {}
  }

  /** Adds {@code listener}; it hears about workqueues created or destroyed from now on. */
  public void addWorkqueueListener(WorkqueueListener listener) {
    listeners.add(Checks.notNull(listener, "listener"));
  }

  /** Removes {@code listener} (no-op if it was not added). */
  public void removeWorkqueueListener(WorkqueueListener listener) {
    listeners.remove(listener);
  }

  /** After {@code alloc_workqueue}: the MBean and the listeners. No engine lock held. */
  void workqueueCreated(Workqueue wq) {
    if (jmx) {
      try {
        wq.mbean = Jmx.registerWorkqueue(wq);
      } catch (LinkageError e) {
        Warn.once("jmx-unavailable", "workqueue: JMX beans are off (" + e + ")");
      }
      if ((wq.flags & Workqueue.__WQ_DESTROYING) != 0) {
        jmxUnregister(wq); // a destroy raced with the registration
      }
    }
    for (WorkqueueListener l : listeners) {
      try {
        l.created(wq);
      } catch (RuntimeException e) {
        Warn.always("workqueue: listener " + l + " failed on creation of " + wq.name(), e);
      }
    }
  }

  /** After {@code destroy_workqueue}. No engine lock held. */
  void workqueueDestroyed(Workqueue wq) {
    jmxUnregister(wq);
    for (WorkqueueListener l : listeners) {
      try {
        l.destroyed(wq);
      } catch (RuntimeException e) {
        Warn.always("workqueue: listener " + l + " failed on destruction of " + wq.name(), e);
      }
    }
  }

  private void jmxUnregister(Workqueue wq) {
    Object name = wq.mbean;
    if (name != null) {
      wq.mbean = null;
      Jmx.unregister((javax.management.ObjectName) name);
    }
  }

  boolean isClosing() {
    return closing;
  }

  void checkOpen() {
    if (closing) {
      throw new IllegalStateException("the WorkqueueSystem is closed");
    }
  }

  // ---- internals --------------------------------------------------------------------------

  WorkerPool cpuPool(int cpu, boolean highpri) {
    return cpuPools[cpu][highpri ? 1 : 0];
  }

  /** Per-CPU pools, normal then highpri for each CPU. */
  List<WorkerPool> cpuPoolList() {
    List<WorkerPool> l = new ArrayList<>();
    for (WorkerPool[] pools : cpuPools) {
      for (WorkerPool p : pools) {
        if (p != null) {
          l.add(p);
        }
      }
    }
    return l;
  }

  /** Every live pool, by id. */
  List<WorkerPool> poolsById() {
    List<WorkerPool> l = new ArrayList<>(pools);
    l.sort(java.util.Comparator.comparingInt(p -> p.id));
    return l;
  }

  /** Unbound pools alive (dumps, tests). */
  List<WorkerPool> unboundPools() {
    poolMutex.lock();
    try {
      return new ArrayList<>(unboundPoolHash.values());
    } finally {
      poolMutex.unlock();
    }
  }

  /**
   * The CPU a queueing thread stands for: a worker's own CPU; else the CPU it runs on when the
   * OS integration can tell; else a CPU fixed per thread.
   */
  int localCpu(Worker self) {
    WorkerPool pool = self == null ? null : self.pool;
    if (pool != null && pool.cpu >= 0 && pool.system == this) {
      return pool.cpu;
    }
    int cpu = OsSupport.currentCpu(topology);
    return cpu >= 0 ? cpu : (int) (Thread.currentThread().getId() % nrCpus);
  }

  /** {@code wq_select_unbound_cpu}: {@code cpu} if unbound work may use it, else round-robin. */
  int selectUnboundCpu(int cpu) {
    CpuMask mask = unboundCpumask;
    if (mask.contains(cpu)) {
      return cpu;
    }
    int next = mask.next(unboundRrCursor + 1);
    if (next < 0) {
      next = mask.first();
    }
    unboundRrCursor = next;
    return next;
  }

  /**
   * {@code get_unbound_pool}: the pool with these attributes, shared and reference counted, or a
   * new one with its first worker. Pool mutex held.
   *
   * @throws IllegalStateException if a new pool cannot get its first worker thread
   */
  WorkerPool getUnboundPool(PoolAttrs attrs) {
    assert poolMutex.isHeldByCurrentThread();
    WorkerPool pool = unboundPoolHash.get(attrs);
    if (pool != null) {
      pool.refcnt++;
      return pool;
    }
    int node = -1;
    for (int n = 0; n < topology.nodes(); n++) {
      if (attrs.podCpumask().isSubsetOf(topology.nodeCpus(n))) {
        node = n;
        break;
      }
    }
    pool = new WorkerPool(this, -1, node, attrs);
    if (pool.createWorker() == null) {
      pool.destroy();
      throw new IllegalStateException("cannot create the first worker of unbound " + pool);
    }
    unboundPoolHash.put(attrs, pool);
    pools.add(pool);
    return pool;
  }

  /** {@code put_unbound_pool}: drops a reference; the last one destroys the pool. */
  void putUnboundPool(WorkerPool pool) {
    poolMutex.lock();
    try {
      if (--pool.refcnt > 0) {
        return;
      }
      if (unboundPoolHash.get(pool.attrs) == pool) {
        unboundPoolHash.remove(pool.attrs);
      }
      pools.remove(pool);
      pool.destroy();
    } finally {
      poolMutex.unlock();
    }
  }

  /**
   * {@code attrs}, or an equal instance already held by another workqueue (attributes are
   * immutable): workqueues created with the same attributes share one (72 B each otherwise:
   * ThreadEconomy). Pool mutex held.
   */
  WorkqueueAttrs shareAttrs(WorkqueueAttrs attrs) {
    assert poolMutex.isHeldByCurrentThread();
    if (attrs.equals(lastUnboundAttrs)) {
      return lastUnboundAttrs;
    }
    lastUnboundAttrs = attrs;
    return attrs;
  }

  void registerWorkqueue(Workqueue wq) {
    assert poolMutex.isHeldByCurrentThread();
    wq.listPrev = lastWq;
    if (lastWq != null) {
      lastWq.listNext = wq;
    } else {
      firstWq = wq;
    }
    lastWq = wq;
  }

  void unregisterWorkqueue(Workqueue wq) {
    assert poolMutex.isHeldByCurrentThread();
    if (wq.listPrev != null) {
      wq.listPrev.listNext = wq.listNext;
    } else if (firstWq == wq) {
      firstWq = wq.listNext;
    } else {
      return; // not registered (failed creation) or already removed
    }
    if (wq.listNext != null) {
      wq.listNext.listPrev = wq.listPrev;
    } else {
      lastWq = wq.listPrev;
    }
    wq.listPrev = null;
    wq.listNext = null;
  }

  /** Bookkeeping of the release path, checked by the tests. */
  void noteReleaseStarted(PoolWorkqueue pwq) {
    releasesStarted.incrementAndGet();
    if (!Thread.currentThread().getName().equals("pool_workqueue_release")) {
      releasesOffThread.incrementAndGet();
    }
    for (WorkerPool pool : cpuPoolList()) {
      if (pool.lock.isHeldByCurrentThread()) {
        releasesUnderPoolLock.incrementAndGet();
      }
    }
    for (WorkerPool pool : unboundPools()) {
      if (pool.lock.isHeldByCurrentThread()) {
        releasesUnderPoolLock.incrementAndGet();
      }
    }
    if (pwq.pool.lock.isHeldByCurrentThread()) {
      releasesUnderPoolLock.incrementAndGet();
    }
  }

  @Override
  public String toString() {
    return "WorkqueueSystem[cpus=" + nrCpus + ", workqueues=" + workqueues().size() + "]";
  }

  // ---- builder ----------------------------------------------------------------------------

  /** Settings of a {@link WorkqueueSystem}. */
  public static final class Builder {
    private int cpus;
    private Topology topology;
    private ThreadFactory threadFactory = DEFAULT_THREAD_FACTORY;
    private Duration cpuIntensiveThreshold = DEFAULT_CPU_INTENSIVE_THRESHOLD;
    private Duration watchdogThreshold = DEFAULT_WATCHDOG_THRESHOLD;
    private Consumer<Lockup> lockupHandler = lockup -> { };
    private Duration idleWorkerTimeout = DEFAULT_IDLE_WORKER_TIMEOUT;
    private Duration idleSpin = DEFAULT_IDLE_SPIN;
    private boolean powerEfficient;
    private boolean isDefault;
    private String name;
    private boolean jmx = true;

    Builder() {}

    Builder asDefault() {
      isDefault = true;
      return this;
    }

    /**
     * Logical CPUs, i.e. per-CPU pool pairs, on a flat topology (no SMT, one cache, one node).
     * Without this or {@link #topology}, the machine's topology is detected
     * ({@link Topology#detect()}).
     */
    public Builder cpus(int cpus) {
      this.cpus = Checks.inRange(cpus, 1, CpuMask.MAX_CPUS, "cpus");
      return this;
    }

    /** The machine topology (default: {@link Topology#detect()}). */
    public Builder topology(Topology topology) {
      this.topology = Checks.notNull(topology, "topology");
      return this;
    }

    /**
     * How threads are made (default: daemon threads). The system names them itself. A factory
     * that throws or returns null makes worker creation fail, as in the kernel under memory
     * pressure.
     */
    public Builder threadFactory(ThreadFactory threadFactory) {
      this.threadFactory = Checks.notNull(threadFactory, "threadFactory");
      return this;
    }

    /**
     * {@code workqueue.cpu_intensive_thresh_us}: an item of a per-CPU workqueue running longer
     * than this without blocking is marked CPU intensive, letting the pool start others.
     * Zero disables (default 10 ms).
     */
    public Builder cpuIntensiveThreshold(Duration threshold) {
      this.cpuIntensiveThreshold = Checks.nonNegative(threshold, "cpuIntensiveThreshold");
      return this;
    }

    /**
     * {@code workqueue.watchdog_thresh}: a pool with items waiting and no forward progress for
     * this long is reported as {@code BUG: workqueue lockup} (logged at ERROR with the dump and
     * the stalled workers' stacks, and passed to {@link #onLockup}). Zero disables (default
     * 30 s). The check runs every threshold, so a lockup is reported within twice of it.
     */
    public Builder watchdogThreshold(Duration threshold) {
      this.watchdogThreshold = Checks.nonNegative(threshold, "watchdogThreshold");
      return this;
    }

    /** Called on the tick thread for every lockup the watchdog reports (default: nothing). */
    public Builder onLockup(Consumer<Lockup> handler) {
      this.lockupHandler = Checks.notNull(handler, "handler");
      return this;
    }

    /**
     * How long surplus idle workers live ({@code IDLE_WORKER_TIMEOUT}, default 300 s). Culling
     * keeps two idle workers plus one per four busy ones.
     */
    public Builder idleWorkerTimeout(Duration timeout) {
      this.idleWorkerTimeout = Checks.positive(timeout, "idleWorkerTimeout");
      return this;
    }

    /**
     * How long a worker of a per-CPU pool that has just run out of items keeps polling for new
     * ones before it parks (default 20 µs; zero: park at once, as the kernel's workers sleep). An
     * item queued meanwhile costs its queuer no unpark (a futex call, 2–5 µs) and the worker no
     * wake-up. The length adapts: it shrinks when the worker then stays parked long, or is woken
     * from its own CPU (a thread there could not run while the worker polled), so a worker whose
     * items come rarely, or only from its own CPU, stops polling. The poll only follows work: an
     * idle system uses no CPU. Unbound pools never poll. A worker whose queuer on its own CPU
     * wakes it again within microseconds, turn after turn, yields for up to this long instead
     * of spinning, so that the queuer is not preempted for every item (its items then wait for
     * it to block or end its time slice). Zero turns both off.
     *
     * @throws IllegalArgumentException if negative or longer than 10 ms
     */
    public Builder idleSpin(Duration spin) {
      Checks.nonNegative(spin, "idleSpin");
      if (spin.compareTo(MAX_IDLE_SPIN) > 0) {
        throw new IllegalArgumentException("idleSpin: " + spin + " (expected: 0 to "
            + MAX_IDLE_SPIN.toMillis() + " ms)");
      }
      this.idleSpin = spin;
      return this;
    }

    /**
     * The system's name in JMX object names (default: {@code cmwq-<n>}; the default system is
     * {@code default}).
     *
     * @throws IllegalArgumentException if blank
     */
    public Builder name(String name) {
      Checks.notNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("name: \"" + name + "\" (expected: not blank)");
      }
      this.name = name;
      return this;
    }

    /**
     * Whether the system and its workqueues get MBeans on the platform MBeanServer (default:
     * true). See {@code dev.cmwq.Jmx} for names and attributes.
     */
    public Builder jmx(boolean on) {
      this.jmx = on;
      return this;
    }

    /** {@code workqueue.power_efficient}: POWER_EFFICIENT workqueues become unbound. */
    public Builder powerEfficient(boolean on) {
      this.powerEfficient = on;
      return this;
    }

    /**
     * Creates the system and starts its threads.
     *
     * @throws IllegalStateException if the thread factory cannot make the first workers
     */
    public WorkqueueSystem build() {
      return new WorkqueueSystem(this);
    }
  }

  private static final ThreadFactory DEFAULT_THREAD_FACTORY = r -> {
    Thread t = new Thread(r);
    t.setDaemon(true);
    return t;
  };
}
