package dev.cmwq.kthread;

import dev.cmwq.timer.TimerList;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link KthreadWork} with a timer ({@code struct kthread_delayed_work}), armed by
 * {@link KthreadWorker#queueDelayedWork} and {@link KthreadWorker#modDelayedWork}. Timers run
 * on the process-wide {@link dev.cmwq.timer.TimerBase#shared() kthread_timer} thread.
 *
 * <p>{@link #cancelSync()} disarms the timer too. {@link #flush()} of an armed item waits for
 * the timer and then the execution (the kernel's would never return); if the item is cancelled
 * meanwhile, the flush returns.
 */
public class KthreadDelayedWork extends KthreadWork {
  /** I: the embedded timer. */
  final Timer timer = new Timer();
  /** W to write, racy reads: armed ({@code delayed_work_list} membership); sets BLOCKED. */
  volatile boolean delayed;
  /** W: flushes waiting for the armed item to fire and run; null when none. */
  List<KthreadWorker.FlushWork> flushers;

  /**
   * An item running {@code fn} ({@code kthread_init_delayed_work}).
   *
   * @throws NullPointerException if {@code fn} is null
   */
  public KthreadDelayedWork(Runnable fn) {
    super(fn);
  }

  /** Queued, or armed and waiting for its delay. */
  @Override
  public boolean isPending() {
    return (state & QUEUED) != 0 || delayed;
  }

  /** W: remembers a flush waiting for the timer. */
  void addFlusher(KthreadWorker.FlushWork f) {
    if (flushers == null) {
      flushers = new ArrayList<>(2);
    }
    flushers.add(f);
  }

  /** W: takes the waiting flushes. */
  List<KthreadWorker.FlushWork> takeFlushers() {
    List<KthreadWorker.FlushWork> l = flushers;
    flushers = null;
    return l == null ? List.of() : l;
  }

  /** The embedded timer ({@code kthread_delayed_work_timer_fn}). */
  final class Timer extends TimerList {
    @Override
    protected void fire() {
      KthreadWorker w = worker;
      if (w != null) {
        w.delayedWorkTimerFn(KthreadDelayedWork.this);
      }
    }
  }
}
