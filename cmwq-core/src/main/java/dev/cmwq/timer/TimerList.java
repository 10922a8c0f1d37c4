package dev.cmwq.timer;

/**
 * A timer ({@code struct timer_list}), embedded in the object it serves: subclass it and
 * implement {@link #fire()}. Arming, re-arming and cancelling an existing timer allocates
 * nothing.
 *
 * <p>All fields are guarded by the lock of the {@link TimerBase} the timer is on (code
 * {@code B}); a timer is on at most one base at a time.
 */
public abstract class TimerList {
  /** Not armed. */
  static final int IDLE = 0;
  /** Armed: in a bucket of the wheel. */
  static final int PENDING = 1;
  /** Expired and taken off the wheel; its {@link #fire()} is about to be called. */
  static final int FIRING = 2;
  /** {@link #fire()} is running. */
  static final int RUNNING = 3;

  /** B: one of the states above. */
  int state;
  /** B: bucket links (self-linked when not in a bucket). */
  TimerList prev = this;
  /** B: bucket links; also chains the expired batch. */
  TimerList next = this;
  /** B: absolute deadline ({@link System#nanoTime()} scale). */
  long expires;
  /** B: arming sequence number: timers with equal deadlines fire in arming order. */
  long seq;
  /** B to write, racy reads: the base this timer was last armed on. */
  volatile TimerBase base;

  /** A timer that is not armed. */
  protected TimerList() {}

  /**
   * Called on the base's timer thread when the timer expires, with no lock held. Must be short
   * and must not block; exceptions are logged and ignored.
   */
  protected abstract void fire();

  /** Whether the timer is armed ({@code timer_pending}); advisory without the base lock. */
  public final boolean isPending() {
    TimerBase b = base;
    return b != null && b.isPending(this);
  }

  /** {@code del_timer}: disarms it; true if it was armed (and now will not fire). */
  public final boolean delete() {
    TimerBase b = base;
    return b != null && b.delete(this);
  }

  /** {@code del_timer_sync}: {@link #delete()}, then waits for a running {@link #fire()}. */
  public final boolean deleteSync() {
    TimerBase b = base;
    return b != null && b.deleteSync(this);
  }

  /** The deadline it was last armed for (nanoTime scale). */
  public final long expires() {
    TimerBase b = base;
    return b == null ? 0 : b.expiresOf(this);
  }

  final void unlink() {
    prev.next = next;
    next.prev = prev;
    prev = this;
    next = this;
  }

  final void linkBefore(TimerList head) {
    TimerList last = head.prev;
    next = head;
    prev = last;
    last.next = this;
    head.prev = this;
  }

  /** A bucket head. */
  static final class Head extends TimerList {
    @Override
    protected void fire() {
      throw new AssertionError("bucket heads never fire");
    }
  }
}
