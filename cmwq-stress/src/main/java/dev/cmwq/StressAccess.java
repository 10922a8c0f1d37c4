package dev.cmwq;

import java.time.Duration;
import java.util.List;

/**
 * What the stress programs read from inside the engine (this package is split across the core
 * and the stress jar; nothing here is part of the API).
 */
public final class StressAccess {
  private StressAccess() {}

  /** Waits for quiescence, then returns the violated engine invariants (empty when sound). */
  public static List<String> invariantViolations(WorkqueueSystem sys, Duration wait) {
    return Invariants.quiescentViolations(sys, wait);
  }

  /** Live pools and their workers, for the status line. */
  public record Pools(int pools, int workers, int idle, int nrRunning, int pending) {
    @Override
    public String toString() {
      return "pools " + pools + " workers " + workers + " idle " + idle + " nr_running "
          + nrRunning + " pending " + pending;
    }
  }

  /** A snapshot of every live pool (each read under its lock). */
  public static Pools pools(WorkqueueSystem sys) {
    int pools = 0;
    int workers = 0;
    int idle = 0;
    int running = 0;
    int pending = 0;
    for (WorkerPool p : Invariants.livePools(sys)) {
      p.lock.lock();
      try {
        pools++;
        workers += p.nrWorkers;
        idle += p.nrIdle;
        running += p.nrRunning;
        for (Work w = p.worklist.next; w != p.worklist; w = w.next) {
          pending++;
        }
      } finally {
        p.lock.unlock();
      }
    }
    return new Pools(pools, workers, idle, running, pending);
  }

  /** pwq releases that ran off {@code pool_workqueue_release} or under a pool lock: must be 0. */
  public static long badReleases(WorkqueueSystem sys) {
    return sys.releasesOffThread.get() + sys.releasesUnderPoolLock.get();
  }
}
