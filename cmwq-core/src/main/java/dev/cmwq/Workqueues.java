package dev.cmwq;

import java.util.concurrent.ForkJoinPool;

/**
 * Static conveniences on the {@linkplain WorkqueueSystem#getDefault() default system}, mirroring
 * the kernel's helpers, and the blocking hook for work functions.
 */
public final class Workqueues {
  private Workqueues() {}

  /**
   * Blocks on {@code blocker} the way the JDK's {@link ForkJoinPool#managedBlock} does, telling
   * concurrency management about it: when called from a worker of a per-CPU pool the worker
   * counts as sleeping ({@code wq_worker_sleeping}) until the blocker is released, so the pool
   * starts another worker for the items behind it. From any other thread it is exactly
   * {@code ForkJoinPool.managedBlock}.
   *
   * <p>Work functions that block (I/O, locks, queues) should block through this method; the
   * sampling tick otherwise notices within a few milliseconds.
   *
   * @throws InterruptedException if {@code blocker.block()} throws it
   */
  public static void managedBlock(ForkJoinPool.ManagedBlocker blocker) throws InterruptedException {
    Checks.notNull(blocker, "blocker");
    Worker worker = Worker.current();
    if (worker == null) {
      ForkJoinPool.managedBlock(blocker);
      return;
    }
    if (blocker.isReleasable()) {
      return;
    }
    worker.sleepingHook();
    try {
      while (!blocker.isReleasable() && !blocker.block()) {
        // block() returned early (spurious wake-up); ask again
      }
    } finally {
      worker.runningHook();
    }
  }

  /** {@code schedule_work}: {@code queueWork} on the default system's {@code system_wq}. */
  public static boolean scheduleWork(Work work) {
    return WorkqueueSystem.getDefault().system().queueWork(work);
  }

  /** {@code schedule_work_on}: {@code queueWorkOn} on the default system's {@code system_wq}. */
  public static boolean scheduleWorkOn(int cpu, Work work) {
    return WorkqueueSystem.getDefault().system().queueWorkOn(cpu, work);
  }

  /**
   * {@code schedule_delayed_work}: {@code queueDelayedWork} on the default system's
   * {@code system_wq}.
   */
  public static boolean scheduleDelayedWork(DelayedWork dwork, java.time.Duration delay) {
    return WorkqueueSystem.getDefault().system().queueDelayedWork(dwork, delay);
  }

  /** {@link #scheduleDelayedWork(DelayedWork, java.time.Duration)} with the delay in {@code unit}. */
  public static boolean scheduleDelayedWork(DelayedWork dwork, long delay,
      java.util.concurrent.TimeUnit unit) {
    return WorkqueueSystem.getDefault().system().queueDelayedWork(dwork, delay, unit);
  }

  /** {@code current_is_workqueue_rescuer}: whether the caller is a rescuer thread. */
  public static boolean currentIsRescuer() {
    Worker worker = Worker.current();
    return worker != null && worker.rescueWq != null;
  }

  /**
   * {@code set_worker_desc}: describes what the calling worker is doing, shown in dumps next to
   * the workqueue and function; reset at the start of every item. No-op off a worker.
   */
  public static void setWorkerDesc(String desc) {
    Checks.notNull(desc, "desc");
    Worker worker = Worker.current();
    if (worker != null) {
      worker.desc = desc.length() > 31 ? desc.substring(0, 31) : desc;
    }
  }
}
