package dev.cmwq;

import dev.cmwq.timer.TimerList;
import java.util.concurrent.RejectedExecutionException;

/**
 * A work item with a timer ({@code struct delayed_work}): queued with a delay by
 * {@link Workqueue#queueDelayedWork}, re-armed by {@link Workqueue#modDelayedWork}. While the
 * timer is armed the item is pending; when it expires the item is queued on the workqueue and
 * CPU recorded when it was armed.
 *
 * <p>{@link #cancel()}, {@link #cancelSync()}, {@link #disable()} and {@link #disableSync()}
 * disarm the timer as well; {@link #flush()} fires an armed timer at once and then waits.
 * Arming and re-arming an existing item allocates nothing: the timer is embedded.
 */
public class DelayedWork extends Work {
  /** I: the embedded timer ({@code dwork->timer}). */
  final Timer timer = new Timer();
  /** P: target workqueue, set by the PENDING owner before arming, read by the timer. */
  Workqueue wq;
  /** P: target CPU ({@link Workqueue#ANY_CPU} for none). */
  int cpu;

  /**
   * An item running {@code fn} ({@code INIT_DELAYED_WORK}).
   *
   * @throws NullPointerException if {@code fn} is null
   */
  public DelayedWork(Runnable fn) {
    super(fn);
  }

  /**
   * An item running {@code fn}, which receives the item ({@code INIT_DELAYED_WORK}).
   *
   * @throws NullPointerException if {@code fn} is null
   */
  public DelayedWork(WorkFunction fn) {
    super(fn);
  }

  /** Whether the timer is armed (the item waits for its delay). */
  public boolean isTimerPending() {
    return timer.isPending();
  }

  /**
   * {@code flush_delayed_work}: if the timer is armed it is fired now (the item is queued at
   * once on its workqueue and CPU), then {@link Work#flush()} waits for the execution.
   *
   * @return true if the timer was armed (it has now run) or the item was queued or running;
   *     false if it was idle. (The kernel returns only what {@code flush_work} saw, which is
   *     false when the fired item completed before the barrier could be queued.)
   * @throws java.util.concurrent.RejectedExecutionException if firing it early hits a workqueue
   *     that is being drained or destroyed (the item is then left not pending)
   * @throws IllegalStateException as {@link Work#flush()}
   */
  @Override
  public boolean flush() {
    boolean fired = false;
    if (timer.delete()) {
      wq.doQueueWork(cpu, this);
      fired = true;
    }
    return super.flush() || fired;
  }

  /**
   * The grab of {@code try_to_grab_pending} first tries to disarm the timer: success means the
   * timer will not queue the item and PENDING is ours.
   */
  @Override
  int tryToGrabPending() {
    if (timer.delete()) {
      return 1;
    }
    return super.tryToGrabPending();
  }

  /**
   * {@code delayed_work_timer_fn}: queue on the recorded workqueue and CPU. A workqueue that is
   * being drained or destroyed refuses it: that is logged and the item is left not pending.
   */
  void timerFn() {
    Workqueue q = wq;
    try {
      q.doQueueWork(cpu, this);
    } catch (RejectedExecutionException e) {
      Warn.always("workqueue: timer of delayed " + this + " expired while " + q.name()
          + " is being drained or destroyed; the item was not queued (cancel delayed items"
          + " before draining)");
      refused();
    }
  }

  /**
   * Called when the item was left not pending without running: its timer fired into a
   * workqueue being drained or destroyed, or the destroy disarmed it. Executor views cancel
   * the task's future here so nobody waits for it forever.
   */
  void refused() {}

  /** The embedded timer ({@code dwork->timer}). */
  final class Timer extends TimerList {
    @Override
    protected void fire() {
      timerFn();
    }

    DelayedWork owner() {
      return DelayedWork.this;
    }
  }
}
