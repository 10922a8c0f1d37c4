package dev.cmwq;

/**
 * Statistics of one workqueue: the kernel's {@code PWQ_STAT_*} counters summed over the
 * workqueue's pool workqueues, plus {@code failed}.
 *
 * <p>Unlike {@code wq_monitor.py}, which sums only the pwqs still linked, the counts of pwqs
 * already released (after {@link Workqueue#applyAttrs}) are kept, so every counter is monotonic.
 *
 * @param started      items whose execution began ({@code PWQ_STAT_STARTED})
 * @param completed    items whose function returned, normally or by throwing ({@code PWQ_STAT_COMPLETED})
 * @param cpuTimeNanos CPU time spent in this workqueue's items ({@code PWQ_STAT_CPU_TIME}, in ns)
 * @param cpuIntensive items that hogged the CPU past the threshold and were marked CPU intensive
 * @param cmWakeups    workers woken by concurrency management because a running one blocked
 * @param repatriated  idle workers steered back into their pod (non-strict unbound pools)
 * @param mayday       rescue requests sent for this workqueue
 * @param rescued      items executed by the rescuer
 * @param failed       items whose function threw
 */
public record WorkqueueStats(
    long started,
    long completed,
    long cpuTimeNanos,
    long cpuIntensive,
    long cmWakeups,
    long repatriated,
    long mayday,
    long rescued,
    long failed) {

  /** Items currently executing, {@code max(started - completed, 0)} (the monitor's "infl"). */
  public long inFlight() {
    return Math.max(started - completed, 0);
  }
}
