package dev.cmwq;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;
import jdk.jfr.Timespan;

/**
 * The JFR events, named after the kernel's workqueue tracepoints, and the engine's calls that
 * emit them. Each emitter allocates its event and returns at once unless a recording enables
 * it; the JIT then removes the allocation, so a disabled event costs a few instructions on
 * the queueing and execution paths (measured by the {@code JfrEventCost} benchmark).
 *
 * <p>Defaults suit an always-on production recording: the per-item events ({@code QueueWork},
 * {@code ActivateWork}, {@code ExecuteWork}) are off until a recording enables them, as the
 * kernel's tracepoints are; {@code CpuIntensive} and {@code Lockup} are rare and on. With a
 * recording running, an enabled {@code ExecuteWork} costs two JFR clock reads per item even when
 * its threshold filters the item out, so it is opt-in.
 *
 * <p>Events are committed outside pool locks where the engine allows; the fields name the
 * workqueue and the work function's class (for items made from a {@link Runnable}, the
 * Runnable's class), never the item itself, so that no event keeps an item alive.
 */
final class Events {
  private Events() {}

  static final String CATEGORY = "cmwq";

  // ---- the events -------------------------------------------------------------------------

  /** {@code trace_workqueue_queue_work}. */
  @Name("dev.cmwq.QueueWork")
  @Label("Queue Work")
  @Category(CATEGORY)
  @Description("A work item was queued on a pool workqueue")
  @StackTrace(false)
  @Enabled(false)
  static final class QueueWork extends Event {
    @Label("Workqueue")
    String workqueue;

    @Label("Function")
    Class<?> function;

    @Label("Requested CPU")
    @Description("The CPU the caller asked for; -1 for any (WORK_CPU_UNBOUND)")
    int requestedCpu;

    @Label("CPU")
    @Description("The CPU of the pool the item went to; -1 for unbound pools")
    int cpu;

    @Label("Pool Id")
    int poolId;

    @Label("Active")
    @Description("Put straight on the pool's worklist; false: waiting for a max_active slot")
    boolean active;
  }

  /** {@code trace_workqueue_activate_work}. */
  @Name("dev.cmwq.ActivateWork")
  @Label("Activate Work")
  @Category(CATEGORY)
  @Description("A work item was moved to its pool's worklist (it holds a max_active slot)")
  @StackTrace(false)
  @Enabled(false)
  static final class ActivateWork extends Event {
    @Label("Workqueue")
    String workqueue;

    @Label("Function")
    Class<?> function;

    @Label("Pool Id")
    int poolId;
  }

  /** {@code trace_workqueue_execute_start} / {@code _end} as one duration event. */
  @Name("dev.cmwq.ExecuteWork")
  @Label("Execute Work")
  @Category(CATEGORY)
  @Description("A worker ran a work item's function")
  @StackTrace(false)
  @Enabled(false)
  @Threshold("0 ms")
  static final class ExecuteWork extends Event {
    @Label("Workqueue")
    String workqueue;

    @Label("Function")
    Class<?> function;

    @Label("CPU")
    @Description("The CPU of the worker's pool; -1 for unbound pools")
    int cpu;

    @Label("Pool Id")
    int poolId;

    @Label("Failed")
    @Description("The function threw")
    boolean failed;
  }

  /** The tick marked a running item CPU-intensive (the kernel's {@code wq_cpu_intensive_report}). */
  @Name("dev.cmwq.CpuIntensive")
  @Label("CPU Intensive Work")
  @Category(CATEGORY)
  @Description("A work item ran on the CPU past the threshold and left concurrency management")
  @StackTrace(false)
  static final class CpuIntensive extends Event {
    @Label("Workqueue")
    String workqueue;

    @Label("Function")
    Class<?> function;

    @Label("CPU")
    int cpu;

    @Label("Threshold")
    @Timespan(Timespan.NANOSECONDS)
    long threshold;
  }

  /** The watchdog's {@code BUG: workqueue lockup}. */
  @Name("dev.cmwq.Lockup")
  @Label("Workqueue Lockup")
  @Category(CATEGORY)
  @Description("A worker pool had items waiting and made no forward progress for the watchdog"
      + " threshold")
  @StackTrace(false)
  static final class Lockup extends Event {
    @Label("Pool Id")
    int poolId;

    @Label("Pool")
    @Description("cpus=... node=... flags=... nice=..., as the kernel prints pools")
    String pool;

    @Label("Stuck For")
    @Timespan(Timespan.NANOSECONDS)
    long stuckFor;
  }

  // ---- emitters ---------------------------------------------------------------------------

  // Every emitter asks a shared instance whether its event is on before allocating one:
  // isEnabled() reads only the event type's state, and on paths too large for the JIT to inline
  // the emitter, an instance allocated up front escapes into it and is really allocated
  // (BenchGatesTest caught 0.2 B per queued item on unbound and ordered workqueues).
  private static final QueueWork QUEUE_WORK = new QueueWork();
  private static final ActivateWork ACTIVATE_WORK = new ActivateWork();
  private static final ExecuteWork EXECUTE_WORK = new ExecuteWork();
  private static final CpuIntensive CPU_INTENSIVE = new CpuIntensive();
  private static final Lockup LOCKUP = new Lockup();

  /** After {@code __queue_work} placed {@code work}; also its activation when active. */
  static void queueWork(Workqueue wq, Work work, int reqCpu, WorkerPool pool, boolean active) {
    if (QUEUE_WORK.isEnabled()) {
      QueueWork e = new QueueWork();
      e.workqueue = wq.name();
      e.function = work.functionClass();
      e.requestedCpu = reqCpu;
      e.cpu = pool.cpu;
      e.poolId = pool.id;
      e.active = active;
      e.commit();
    }
    if (active) {
      activateWork(wq, work, pool);
    }
  }

  /** {@code __pwq_activate_work} and direct activation at queueing. */
  static void activateWork(Workqueue wq, Work work, WorkerPool pool) {
    if (ACTIVATE_WORK.isEnabled()) {
      ActivateWork e = new ActivateWork();
      e.workqueue = wq.name();
      e.function = work.functionClass();
      e.poolId = pool.id;
      e.commit();
    }
  }

  /** Starts timing an execution, or returns null when the event is off. */
  static ExecuteWork executeStart() {
    if (!EXECUTE_WORK.isEnabled()) {
      return null;
    }
    ExecuteWork e = new ExecuteWork();
    e.begin();
    return e;
  }

  /**
   * Ends an execution started by {@link #executeStart()}; {@code function} was taken from the
   * item before it ran (the item itself is not touched after its function).
   */
  static void executeEnd(ExecuteWork e, Workqueue wq, Class<?> function, WorkerPool pool,
      boolean failed) {
    e.end();
    if (e.shouldCommit()) {
      e.workqueue = wq.name();
      e.function = function;
      e.cpu = pool.cpu;
      e.poolId = pool.id;
      e.failed = failed;
      e.commit();
    }
  }

  static void cpuIntensive(Workqueue wq, Work work, WorkerPool pool, long threshNanos) {
    if (CPU_INTENSIVE.isEnabled()) {
      CpuIntensive e = new CpuIntensive();
      e.workqueue = wq.name();
      e.function = work.functionClass();
      e.cpu = pool.cpu;
      e.threshold = threshNanos;
      e.commit();
    }
  }

  static void lockup(WorkerPool pool, long stuckNanos) {
    if (LOCKUP.isEnabled()) {
      Lockup e = new Lockup();
      e.poolId = pool.id;
      e.pool = pool.describe();
      e.stuckFor = stuckNanos;
      e.commit();
    }
  }
}
