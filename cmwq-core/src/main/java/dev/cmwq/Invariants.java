package dev.cmwq;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine's quiescent-state invariants ({@code reference §3.10}), checked after every test
 * and at the end of every stress run: once nothing is queued or running, every live pool has
 * all its workers idle with {@code nr_running} 0, idle list and count agree, no busy-hash
 * entries, no worker still marked sleeping; every linked pwq is empty with a live reference.
 */
final class Invariants {
  private Invariants() {}

  /**
   * Waits up to {@code wait} for the system to go quiet (pending pwq releases done, every live
   * pool's worklist empty and workers idle), then returns the violations found; a system that
   * does not go quiet is itself reported.
   */
  static List<String> quiescentViolations(WorkqueueSystem sys, Duration wait) {
    // A worker drops its pwq reference before it goes idle, so a pwq can reach zero (and queue
    // its release) just before the pools look quiet: wait for quiet, run the pending releases,
    // and repeat until a quiet system has no release left in flight. A pwq that stays linked
    // with no reference across rounds is a real leak and is reported below.
    long deadline = System.nanoTime() + wait.toNanos();
    for (int round = 0; ; round++) {
      sys.releaseWorker.flush();
      while (!quiet(sys)) {
        if (System.nanoTime() - deadline > 0) {
          List<String> v = new ArrayList<>();
          v.add("not quiet after " + wait.toMillis() + " ms:\n" + sys.dump());
          return v;
        }
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for quiescence", e);
        }
      }
      if (round >= 3 || !releasePending(sys)) {
        break;
      }
    }
    List<String> v = new ArrayList<>();
    for (WorkerPool p : livePools(sys)) {
      p.lock.lock();
      try {
        if (p.nrRunning != 0) {
          v.add(p + ": nr_running " + p.nrRunning + " with every worker idle");
        }
        if (p.idleWorkers().size() != p.nrIdle) {
          v.add(p + ": idle list has " + p.idleWorkers().size() + " workers, nr_idle " + p.nrIdle);
        }
        if (!p.busyWorkers().isEmpty()) {
          v.add(p + ": busy workers while idle: " + p.busyWorkers());
        }
        for (Worker w : p.workers) {
          if ((w.flags & Worker.WORKER_IDLE) == 0) {
            v.add(p + ": " + w + " not idle");
          }
          if (w.sleeping != Worker.AWAKE) {
            v.add(p + ": " + w + " still marked sleeping");
          }
        }
      } finally {
        p.lock.unlock();
      }
    }
    for (Workqueue wq : sys.workqueues()) {
      for (PoolWorkqueue pwq : wq.pwqs()) {
        pwq.pool.lock.lock();
        try {
          if (pwq.nrActive != 0 || pwq.hasInactive() || pwq.hasInFlight()) {
            v.add(pwq + ": not empty (active " + pwq.nrActive + ")");
          }
          if (pwq.refcnt < 1) {
            v.add(pwq + ": linked with refcnt " + pwq.refcnt);
          }
        } finally {
          pwq.pool.lock.unlock();
        }
      }
    }
    return v;
  }

  /** Whether some linked pwq has dropped to zero references (its release not yet run). */
  private static boolean releasePending(WorkqueueSystem sys) {
    for (Workqueue wq : sys.workqueues()) {
      for (PoolWorkqueue pwq : wq.pwqs()) {
        pwq.pool.lock.lock();
        try {
          if (pwq.refcnt < 1) {
            return true;
          }
        } finally {
          pwq.pool.lock.unlock();
        }
      }
    }
    return false;
  }

  private static boolean quiet(WorkqueueSystem sys) {
    for (WorkerPool p : livePools(sys)) {
      p.lock.lock();
      try {
        if (!p.worklist.isEmpty() || p.nrIdle != p.nrWorkers
            || (p.flags & WorkerPool.POOL_MANAGER_ACTIVE) != 0) {
          return false;
        }
      } finally {
        p.lock.unlock();
      }
    }
    return true;
  }

  /** Per-CPU and unbound pools not yet destroyed (a destroyed pool keeps the manager role). */
  static List<WorkerPool> livePools(WorkqueueSystem sys) {
    List<WorkerPool> pools = new ArrayList<>(sys.cpuPoolList());
    pools.addAll(sys.unboundPools());
    pools.removeIf(p -> {
      p.lock.lock();
      try {
        return p.dead;
      } finally {
        p.lock.unlock();
      }
    });
    return pools;
  }
}
