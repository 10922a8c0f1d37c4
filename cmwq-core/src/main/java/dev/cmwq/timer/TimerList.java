package dev.cmwq.timer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A timer ({@code struct timer_list}), embedded in the object it serves: subclass it and
 * implement {@link #fire()}. Arming, re-arming and cancelling an existing timer allocates
 * nothing.
 *
 * <h2>Two halves</h2>
 *
 * A timer's <em>logical</em> state is its {@link #state} word, which callers change without any
 * lock: the {@link #ARMED} bit is {@code timer_pending()}, and clearing it by CAS is what
 * {@code del_timer} returning 1 means (the timer will not fire). Its <em>physical</em> place in
 * the base's wheel (the link fields, code {@code B}) belongs to the base lock, and is brought in
 * line with the state by the lock holder: every change of the state that the wheel must see
 * also sets {@link #QUEUED} and pushes the timer onto the base's reconcile stack, once. See
 * {@link TimerBase} for the whole protocol.
 *
 * <p>A timer is on at most one base at a time; it must not be armed on two bases concurrently.
 */
public abstract class TimerList {
  /** State bit: armed; the timer will fire unless this bit is cleared first. */
  static final long ARMED = 1;
  /** State bit: on its base's reconcile stack (set by the pusher, cleared by the drainer). */
  static final long QUEUED = 2;
  /**
   * State bit: an arming party is writing {@link #expires}. Only the holder changes the word
   * while it is set; everyone else waits it out (it is held for a few stores).
   */
  static final long BUSY = 4;
  /** State bit: {@link #fire()} is running. */
  static final long RUNNING = 8;
  /**
   * State bit of an arming, read only together with {@link #ARMED} (a disarm leaves it, the next
   * arming clears it): the arming is <em>deferred</em>, {@link #expires} holds its delay, and the
   * drainer that places it turns that into a deadline from a clock reading known to follow the
   * arming ({@link TimerBase#addAfter}).
   */
  static final long DEFERRED = 16;
  /** The arming generation counts in the bits above the flags (one step per arming). */
  static final long GEN_ONE = 32;
  static final long FLAGS = GEN_ONE - 1;
  /** {@link #acquireBusyIfArmed}'s answer for a timer that is not armed (no state has BUSY). */
  static final long NOT_ARMED = -1;

  private static final VarHandle STATE;
  private static final VarHandle EXPIRES;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      STATE = l.findVarHandle(TimerList.class, "state", long.class);
      EXPIRES = l.findVarHandle(TimerList.class, "expires", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * V: flags above plus the arming generation; changed by CAS from a value without
   * {@link #BUSY}, or by the BUSY holder's release store.
   */
  volatile long state;
  /**
   * P (the BUSY holder, published by the store that releases BUSY; or {@link TimerBase#add}'s
   * caller, published by its arming write of the state): the deadline of the current arming
   * ({@link System#nanoTime()} scale). Readers take it only together with an armed state.
   * Accessed opaquely ({@link #setExpires}, {@link #expires()}): the state word orders it, so a
   * volatile store, a full fence on every arming, would buy nothing (the ordering is checked by
   * {@code TimerBaseTest.concurrentArmsCancelsAndReArms_fireExactlyOncePerLiveArming} and
   * jcstress {@code TimerModVsDelete}).
   */
  private long expires;
  /** P (the pusher, which set QUEUED; then the drainer that took the chain): stack link. */
  TimerList stackNext;
  /** P: the stack's depth when this timer was pushed (read racily by the next pusher). */
  int stackDepth;
  /** B: bucket links (self-linked when not in a bucket). */
  TimerList prev = this;
  /** B: bucket links. */
  TimerList next = this;
  /** B: the deadline the wheel placed the timer at (nanoTime scale). */
  long when;
  /** B: the arming generation the wheel placed it for; a different one in the state is stale. */
  long linkedGen;
  /** B: reconcile sequence number: timers with equal deadlines fire in this order. */
  long seq;
  /**
   * P (the arming party, when the timer moves to another base; it is the only one by the
   * one-base rule), read racily: the base this timer was last armed on.
   */
  volatile TimerBase base;

  /** A timer that is not armed. */
  protected TimerList() {}

  /**
   * Called on the base's timer thread when the timer expires, with no lock held. Must be short
   * and must not block; exceptions are logged and ignored.
   */
  protected abstract void fire();

  /** Whether the timer is armed ({@code timer_pending}). Exact: one volatile read. */
  public final boolean isPending() {
    return (state & ARMED) != 0;
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

  /**
   * The deadline it was last armed for (nanoTime scale), read opaquely (whole, unordered). For a
   * deferred arming ({@link TimerBase#addAfter}) the delay instead: its deadline is fixed only
   * when a drainer places it.
   */
  public final long expires() {
    return (long) EXPIRES.getOpaque(this);
  }

  /**
   * Writes the deadline, opaquely (whole, but unordered): the caller orders it by its next
   * write of the state word, a CAS or a release store.
   */
  final void setExpires(long e) {
    EXPIRES.setOpaque(this, e);
  }

  /** The arming generation of state {@code s}. */
  static long genOf(long s) {
    return s & ~FLAGS;
  }

  // ---- state word ----------------------------------------------------------------------------

  final boolean casState(long expect, long update) {
    return STATE.compareAndSet(this, expect, update);
  }

  /** The state once no arming party holds {@link #BUSY}. */
  final long settledState() {
    long s = state;
    for (int spins = 0; (s & BUSY) != 0; spins++) {
      if (spins < 100) {
        Thread.onSpinWait();
      } else {
        Thread.yield(); // the holder was preempted between two stores
      }
      s = state;
    }
    return s;
  }

  /**
   * Takes {@link #BUSY} and returns the state it was taken from (without BUSY). The caller
   * must end with {@link #storeState}.
   */
  final long acquireBusy() {
    return acquireBusy(false);
  }

  /**
   * As {@link #acquireBusy}, but only from an armed state; returns {@link #NOT_ARMED} and
   * writes nothing if the timer is not armed.
   */
  final long acquireBusyIfArmed() {
    return acquireBusy(true);
  }

  private long acquireBusy(boolean onlyArmed) {
    for (;;) {
      long s = settledState();
      if (onlyArmed && (s & ARMED) == 0) {
        return NOT_ARMED;
      }
      if (casState(s, s | BUSY)) {
        return s;
      }
    }
  }

  /**
   * A release store of {@code s} (which must not have BUSY), for a writer that nobody else can
   * race: the end of a {@link #acquireBusy} section, or {@link TimerBase#add} on an idle word.
   */
  final void storeState(long s) {
    STATE.setRelease(this, s);
  }

  /**
   * Clears {@link #ARMED} if set ({@code del_timer}'s decision). The caller learns from the
   * returned old state whether it disarmed the timer, and whether it must push it ({@code
   * QUEUED} was not set and is now).
   */
  final long disarm(boolean queue) {
    for (;;) {
      long s = settledState();
      if ((s & ARMED) == 0) {
        return s;
      }
      long n = s & ~ARMED;
      if (queue) {
        n |= QUEUED;
      }
      if (casState(s, n)) {
        return s;
      }
    }
  }

  // ---- wheel links (lock B) ------------------------------------------------------------------

  final boolean isLinked() {
    return next != this;
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
