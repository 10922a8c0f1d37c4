/**
 * Timers for delayed work: {@link dev.cmwq.timer.TimerWheel}, a cascading hierarchical wheel
 * (O(1) arm, re-arm and cancel, accurate to one tick of about half a millisecond), and
 * {@link dev.cmwq.timer.TimerBase}, which puts it behind a lock with one thread that sleeps until
 * the next deadline. Timers are embedded in their owners ({@link dev.cmwq.timer.TimerList}), so
 * arming allocates nothing.
 *
 * <p>Lock rule {@code B}: the base lock of the {@code TimerBase} a timer is on.
 */
package dev.cmwq.timer;
