package dev.cmwq;

/**
 * The engine internals the jcstress tests drive (this package is split across the core and the
 * jcstress jar; nothing here is part of the API).
 */
public final class JcstressAccess {
  private JcstressAccess() {}

  /** {@code test_and_set_bit(WORK_STRUCT_PENDING)}: true if this call set PENDING. */
  public static boolean testAndSetPending(Work work) {
    return work.testAndSetPending();
  }

  /**
   * What {@code process_one_work} does to an item just before calling its function:
   * {@code set_work_pool_and_clear_pending} (records the pool, clears PENDING, full fence).
   */
  public static void startExecution(Work work, int poolId) {
    work.setWorkPoolAndClearPending(poolId, 0);
  }

  /** The per-CPU normal pool's {@code nr_running}, read under its lock. */
  public static int nrRunning(WorkqueueSystem sys, int cpu) {
    WorkerPool pool = sys.cpuPool(cpu, false);
    pool.lock.lock();
    try {
      return pool.nrRunning;
    } finally {
      pool.lock.unlock();
    }
  }

  /** Whether the per-CPU normal pool has items waiting on its worklist. */
  public static boolean worklistEmpty(WorkqueueSystem sys, int cpu) {
    WorkerPool pool = sys.cpuPool(cpu, false);
    pool.lock.lock();
    try {
      return pool.worklist.isEmpty();
    } finally {
      pool.lock.unlock();
    }
  }
}
