package dev.cmwq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * A one-shot event, the kernel's {@code struct completion} used with {@code complete_all()}:
 * once {@link #complete()} is called every present and future {@link #await()} returns.
 *
 * <p>The difference from a {@code CountDownLatch}: a worker thread that waits here is counted as
 * sleeping by concurrency management ({@code wq_worker_sleeping}), so its pool wakes another
 * worker for the items behind it. Every blocking wait inside cmwq (flushes, cancel-sync, drain,
 * kthread_worker flush) goes through this class.
 */
public final class Completion {
  private static final Waiter DONE = new Waiter(null, null);

  /** V: stack of waiting threads; {@link #DONE} once completed. */
  private volatile Waiter waiters;

  /** A new, not yet completed event. */
  public Completion() {}

  /** Whether {@link #complete()} has been called. */
  public boolean isDone() {
    return waiters == DONE;
  }

  /** Completes the event and wakes every waiter ({@code complete_all}). Idempotent. */
  public void complete() {
    Waiter w = (Waiter) WAITERS.getAndSet(this, DONE);
    for (; w != null && w != DONE; w = w.next) {
      Thread t = w.thread;
      if (t != null) {
        LockSupport.unpark(t);
      }
    }
  }

  /**
   * Waits until completed ({@code wait_for_completion}), uninterruptibly: an interrupt is kept
   * and re-asserted on return.
   */
  public void await() {
    if (isDone()) {
      return;
    }
    awaitNanos(Long.MAX_VALUE);
  }

  /**
   * Waits at most {@code timeout}.
   *
   * @return true if completed, false on timeout
   */
  public boolean await(Duration timeout) {
    Checks.nonNegative(timeout, "timeout");
    return isDone() || awaitNanos(Checks.saturatedNanos(timeout));
  }

  private boolean awaitNanos(long nanos) {
    Worker worker = Worker.current();
    if (worker != null) {
      worker.sleepingHook();
    }
    boolean interrupted = false;
    Waiter me = new Waiter(Thread.currentThread(), null);
    try {
      for (;;) {
        Waiter head = waiters;
        if (head == DONE) {
          return true;
        }
        me.next = head;
        if (WAITERS.compareAndSet(this, head, me)) {
          break;
        }
      }
      long deadline = nanos == Long.MAX_VALUE ? 0 : System.nanoTime() + nanos;
      while (!isDone()) {
        if (nanos == Long.MAX_VALUE) {
          LockSupport.park(this);
        } else {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            me.thread = null;
            return false;
          }
          LockSupport.parkNanos(this, left);
        }
        if (Thread.interrupted()) {
          interrupted = true;
        }
      }
      return true;
    } finally {
      if (worker != null) {
        worker.runningHook();
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public String toString() {
    return "Completion[" + (isDone() ? "done" : "pending") + "]";
  }

  /** A waiting thread; {@code thread} is cleared when a timed wait gives up. */
  private static final class Waiter {
    volatile Thread thread;
    Waiter next;

    Waiter(Thread thread, Waiter next) {
      this.thread = thread;
      this.next = next;
    }
  }

  private static final VarHandle WAITERS;

  static {
    try {
      WAITERS = MethodHandles.lookup().findVarHandle(Completion.class, "waiters", Waiter.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
