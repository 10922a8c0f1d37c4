package dev.cmwq.kthread;

import dev.cmwq.Checks;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An item for a {@link KthreadWorker} ({@code struct kthread_work}).
 *
 * <p>An item belongs to the first worker it is queued on for its whole life; queueing it on
 * another worker is an {@link IllegalStateException}. The worker never touches the item after
 * running its function, so the function may requeue or drop it.
 */
public class KthreadWork {
  /** I: the function; null for list heads. */
  final Runnable fn;
  /** W (worker lock): list links, self-linked when on no list (also while in the inbox). */
  KthreadWork prev = this;
  /**
   * W: list links. P while the item is in its worker's inbox: then it is the inbox link,
   * written by the queuer that claimed the item before it pushes it, read by the lock holder
   * that splices the inbox (sharing the field keeps a pool workqueue, which embeds an item, at
   * 80 B).
   */
  KthreadWork next = this;
  /** {@link #state} bit: queued, i.e. on its worker's list or inbox, or being pushed there. */
  static final int QUEUED = 1;
  /**
   * {@link #state} bit: queueing is refused, because a cancel is in progress or (delayed items)
   * the timer is armed.
   */
  static final int BLOCKED = 2;
  static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(KthreadWork.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * V: {@link #QUEUED} | {@link #BLOCKED} (the kernel keeps this as list membership plus the
   * {@code canceling} count, both under the worker lock). A queuer claims an idle item with one
   * CAS from 0 to {@code QUEUED} without taking the worker lock; every other change is made
   * under the worker lock — a CAS when the value is 0 (a queuer may claim it at the same time),
   * a plain volatile write otherwise (no queuer can change a non-zero value). Checked by the
   * jcstress tests {@code KthreadQueueVsCancel}, {@code KthreadQueueVsMod} and
   * {@code KthreadCancelWorkSync}.
   */
  volatile int state;
  /** W to write, racy reads: set at first queueing, never cleared. */
  volatile KthreadWorker worker;
  /** W: cancel operations in progress; queueing is refused while positive. */
  int canceling;

  /**
   * An item running {@code fn} ({@code kthread_init_work}).
   *
   * @throws NullPointerException if {@code fn} is null
   */
  public KthreadWork(Runnable fn) {
    this.fn = Checks.notNull(fn, "fn");
  }

  /**
   * An item embedded in a subclass that overrides {@link #run()} (as the kernel embeds a
   * {@code struct kthread_work} in its owner and finds the owner with {@code container_of}):
   * one object instead of an item plus a function object.
   */
  protected KthreadWork() {
    this.fn = null;
  }

  /** List heads and internal items. */
  KthreadWork(Runnable fn, boolean internal) {
    this.fn = fn;
  }

  /**
   * What the worker executes: the function given to the constructor. Subclasses built with
   * {@link #KthreadWork()} override it.
   *
   * @throws IllegalStateException if built with {@link #KthreadWork()} and not overridden
   */
  protected void run() {
    if (fn == null) {
      throw new IllegalStateException(getClass().getName()
          + " was built without a function and must override run()");
    }
    fn.run();
  }

  /** Whether the item is queued and not yet started (or, for delayed items, armed). */
  public boolean isPending() {
    return (state & QUEUED) != 0;
  }

  /** A queuer's claim of an idle item: 0 to {@link #QUEUED}, false if it was not idle. */
  final boolean claim() {
    return state == 0 && STATE.compareAndSet(this, 0, QUEUED);
  }

  /**
   * {@code kthread_flush_work}: waits until the pending or running instance has finished.
   *
   * @return true if it had to wait, false if the item was idle or never queued
   * @throws IllegalStateException if called on the item's own worker thread while it would have
   *     to wait (the worker would wait for itself)
   */
  public boolean flush() {
    KthreadWorker w = worker;
    return w != null && w.flushWork(this);
  }

  /**
   * {@code kthread_cancel_work_sync}: removes the item if pending and waits for a running
   * instance. On return the item is neither pending nor running, even if it requeues itself.
   *
   * @return true if it was pending
   * @throws IllegalStateException if called from the item's own function
   */
  public boolean cancelSync() {
    KthreadWorker w = worker;
    return w != null && w.cancelWorkSync(this);
  }

  @Override
  public String toString() {
    return "KthreadWork@" + Integer.toHexString(System.identityHashCode(this));
  }
}
