package dev.cmwq;

/**
 * Workqueue flags, the kernel's {@code WQ_*} flags without the prefix.
 *
 * <p>Set through {@link Workqueue.Builder}; read back with {@link Workqueue#flags()}.
 */
public enum WqFlag {
  /** {@code WQ_UNBOUND}: served by unbound pools shared by equal attributes; not concurrency managed. */
  UNBOUND,
  /** {@code WQ_FREEZABLE}: takes part in {@link WorkqueueSystem#freezeBegin()} (max_active 0 while frozen). */
  FREEZABLE,
  /** {@code WQ_MEM_RECLAIM}: guaranteed forward progress when worker threads cannot be created. */
  MEM_RECLAIM,
  /** {@code WQ_HIGHPRI}: served by the high-priority pools ({@code kworker/N:MH}, nice -20). */
  HIGHPRI,
  /** {@code WQ_CPU_INTENSIVE}: running items do not count toward concurrency (per-CPU workqueues only). */
  CPU_INTENSIVE,
  /** {@code WQ_SYSFS}: exposes the sysfs-like tunables (JMX). */
  SYSFS,
  /** {@code WQ_POWER_EFFICIENT}: per-CPU unless the system runs in power-efficient mode, then unbound. */
  POWER_EFFICIENT,
  /** {@code __WQ_ORDERED}: one item at a time, in queueing order. */
  ORDERED
}
