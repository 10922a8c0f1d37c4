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

  /** Timers armed on the system's timer base. */
  public static int armedTimers(WorkqueueSystem sys) {
    return sys.timers.size();
  }
}
