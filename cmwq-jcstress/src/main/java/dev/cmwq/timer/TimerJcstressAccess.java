package dev.cmwq.timer;

/**
 * The timer internals the jcstress tests drive (this package is split across the core and the
 * jcstress jar; nothing here is part of the API).
 */
public final class TimerJcstressAccess {
  private TimerJcstressAccess() {}

  /** Lets {@code base} defer armings from now on, as a measured burst would. */
  public static void startStamping(TimerBase base) {
    base.startStampingNow();
  }

  /** The deadline the wheel placed {@code t} at; call after {@link TimerBase#size()}. */
  public static long placedAt(TimerList t) {
    return t.when;
  }
}
