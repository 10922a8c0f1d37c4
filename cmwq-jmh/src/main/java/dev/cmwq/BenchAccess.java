package dev.cmwq;

/**
 * What the benchmarks read from inside the engine (this package is split across the core and
 * the benchmark jar on the class path; nothing here is part of the API).
 */
public final class BenchAccess {
  private BenchAccess() {}

  /** Times arming woke the system's timer thread. */
  public static long timerWakeups(WorkqueueSystem sys) {
    return sys.timers.wakeups();
  }

  /** Deferred timer armings the system's timer base has placed so far. */
  public static long deferredTimers(WorkqueueSystem sys) {
    return sys.timers.deferredPlaced();
  }

  /** Timers armed on the system's timer base. */
  public static int armedTimers(WorkqueueSystem sys) {
    return sys.timers.size();
  }

  /** The pool {@code wq} uses on {@code cpu}. */
  public static Object pool(Workqueue wq, int cpu) {
    return wq.pwqForCpu(cpu).pool;
  }

  /**
   * What the engine runs for tracing one queued and executed item: the queue (and activation)
   * event and the execution event's start and end. Returns whether anything was recorded.
   */
  public static boolean traceQueueAndExecute(Workqueue wq, Work work, Object pool) {
    WorkerPool p = (WorkerPool) pool;
    Events.queueWork(wq, work, Workqueue.ANY_CPU, p, true);
    Events.ExecuteWork e = Events.executeStart();
    if (e != null) {
      Events.executeEnd(e, wq, Work.class, p, false);
      return true;
    }
    return false;
  }

  /** The same call shape with no events: the baseline. */
  public static boolean untraced(Workqueue wq, Work work, Object pool) {
    return wq == null || work == null || pool == null;
  }
}
