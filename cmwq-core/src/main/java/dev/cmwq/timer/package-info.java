/**
 * Timers for delayed work: {@link dev.cmwq.timer.TimerWheel}, a cascading hierarchical wheel
 * (O(1) placement, accurate to one tick of about half a millisecond), and
 * {@link dev.cmwq.timer.TimerBase}, which gives it one thread that sleeps until the next
 * deadline. Callers arm, re-arm and cancel without a lock: each timer's state word decides
 * whether it fires, and the thread brings the wheel in line with the states it finds on a
 * lock-free stack. Timers are embedded in their owners ({@link dev.cmwq.timer.TimerList}), so
 * arming allocates nothing.
 *
 * <p>Lock rule {@code B}: the base lock of the {@code TimerBase} a timer is on (the wheel and
 * each timer's links); a timer's state word is lock-free ({@code V}).
 */
package dev.cmwq.timer;
