package dev.cmwq.timer;

import java.util.function.Consumer;

/**
 * A hierarchical <em>cascading</em> timer wheel: the data structure only, single-threaded and
 * driven by its caller ({@link TimerBase} adds the lock and the thread).
 *
 * <h2>Design and error bound</h2>
 *
 * Seven levels of 64 buckets. A level-0 bucket spans one tick of 2^19 ns (524.288 µs); each
 * level's buckets are 64 times wider than the level below, so level 6 spans 2^61 ns (73
 * years). A timer goes to the lowest level whose 64 buckets, counted from the wheel's current
 * time, reach its deadline. When time enters a bucket of level 1 or above, that bucket's timers
 * are re-placed by their remaining time (cascading), ending in level 0. A level-0 bucket is
 * processed once its tick is over, so a timer fires at most one tick late (plus the thread's
 * wake-up latency) and never early.
 *
 * <p>The kernel's own wheel ({@code kernel/time/timer.c}) does not cascade: it rounds deadlines
 * up to the level's granularity, which makes a 60 s timer up to 12% late. Delayed work must be
 * accurate to a tick, so this wheel cascades; each timer moves down at most six times in its
 * life, and arming, re-arming and cancelling are O(1) with no allocation.
 *
 * <p>Deadlines are {@link System#nanoTime()} values; internally they are kept relative to the
 * wheel's creation so that the arithmetic never wraps.
 */
public final class TimerWheel {
  /** log2 of the tick: 2^19 ns = 524.288 µs. */
  public static final int TICK_SHIFT = 19;
  /** One tick in nanoseconds. */
  public static final long TICK_NANOS = 1L << TICK_SHIFT;
  static final int LVL_BITS = 6;
  static final int LVL_SIZE = 1 << LVL_BITS;
  static final int LVL_MASK = LVL_SIZE - 1;
  static final int LEVELS = 7;
  /** The longest delay the wheel represents exactly (2^61 ns, about 73 years). */
  public static final long MAX_DELAY_NANOS = 1L << (TICK_SHIFT + LVL_BITS * (LEVELS - 1) + LVL_BITS);

  /** S (owner): bucket heads, [level][index]. */
  private final TimerList.Head[][] buckets = new TimerList.Head[LEVELS][LVL_SIZE];
  /** S: per level, bit i set if bucket i may be non-empty (cleared lazily). */
  private final long[] occupied = new long[LEVELS];
  /** I: nanoTime at creation; internal times are relative to it. */
  private final long origin;
  /** S: relative time of the last {@link #advance}. */
  private long time;
  /** S: timers in the wheel. */
  private int size;

  /** A wheel whose time starts at {@code nowNanos}. */
  public TimerWheel(long nowNanos) {
    this.origin = nowNanos;
    for (int l = 0; l < LEVELS; l++) {
      for (int i = 0; i < LVL_SIZE; i++) {
        buckets[l][i] = new TimerList.Head();
      }
    }
  }

  private static int shift(int level) {
    return TICK_SHIFT + LVL_BITS * level;
  }

  /** The nanoTime the wheel's internal times count from (tests construct bucket edges). */
  long origin() {
    return origin;
  }

  /** Number of timers in the wheel. */
  public int size() {
    return size;
  }

  /** Adds {@code t}, whose {@code when} is set, to the wheel. */
  void schedule(TimerList t) {
    place(t, t.when - origin);
    size++;
  }

  /** Removes {@code t}, which must be in the wheel. */
  void deschedule(TimerList t) {
    t.unlink();
    size--;
  }

  private void place(TimerList t, long e) {
    int level;
    long ticks;
    if (e <= time) {
      level = 0; // already due: the current tick's bucket, processed at the next advance
      ticks = time >>> TICK_SHIFT;
    } else {
      level = 0;
      ticks = e >>> TICK_SHIFT;
      while (ticks - (time >>> shift(level)) >= LVL_SIZE) {
        if (++level == LEVELS) {
          level = LEVELS - 1; // beyond the last level: park in its farthest bucket
          ticks = (time >>> shift(level)) + LVL_MASK;
          break;
        }
        ticks = e >>> shift(level);
      }
    }
    int idx = (int) (ticks & LVL_MASK);
    t.linkBefore(buckets[level][idx]);
    occupied[level] |= 1L << idx;
  }

  /**
   * Moves the wheel's time to {@code nowNanos}, passing every timer whose deadline has come to
   * {@code expired} (in no particular order) and re-placing the others of the buckets passed.
   * The timers handed out are no longer in the wheel.
   */
  void advance(long nowNanos, Consumer<TimerList> expired) {
    long now = nowNanos - origin;
    long prev = time;
    if (now <= prev) {
      now = prev;
    }
    time = now;
    for (int level = 0; level < LEVELS; level++) {
      int s = shift(level);
      long from = prev >>> s;
      long to = now >>> s;
      if (level > 0) {
        if (to == from) {
          break; // coarser levels cannot have moved either
        }
        from++; // a higher level's current bucket is always empty
      }
      long steps = Math.min(to - from + 1, LVL_SIZE);
      for (long k = 0; k < steps; k++) {
        int idx = (int) ((from + k) & LVL_MASK);
        long bit = 1L << idx;
        if ((occupied[level] & bit) == 0) {
          continue;
        }
        occupied[level] &= ~bit;
        TimerList.Head head = buckets[level][idx];
        TimerList t = head.next;
        head.next = head;
        head.prev = head;
        while (t != head) {
          TimerList n = t.next;
          t.prev = t;
          t.next = t;
          long e = t.when - origin;
          if (e <= now) {
            size--;
            expired.accept(t);
          } else {
            place(t, e); // cascade
          }
          t = n;
        }
      }
    }
  }

  /** Calls {@code action} for every timer in the wheel; it must not change the wheel. */
  void forEach(Consumer<TimerList> action) {
    for (int level = 0; level < LEVELS; level++) {
      for (int idx = 0; idx < LVL_SIZE; idx++) {
        TimerList.Head head = buckets[level][idx];
        for (TimerList t = head.next; t != head; t = t.next) {
          action.accept(t);
        }
      }
    }
  }

  /**
   * The next time {@link #advance} has work to do: the end of the earliest non-empty tick of
   * level 0, or the start of the earliest non-empty bucket of a higher level (to cascade it);
   * {@link Long#MAX_VALUE} when the wheel is empty.
   */
  long nextDeadline() {
    if (size == 0) {
      return Long.MAX_VALUE;
    }
    long best = Long.MAX_VALUE;
    for (int level = 0; level < LEVELS; level++) {
      int s = shift(level);
      long cur = time >>> s;
      int start = (int) (cur & LVL_MASK);
      long bits = Long.rotateRight(occupied[level], start);
      if (level > 0) {
        bits &= ~1L;
      }
      while (bits != 0) {
        int off = Long.numberOfTrailingZeros(bits);
        int idx = (start + off) & LVL_MASK;
        TimerList.Head head = buckets[level][idx];
        if (head.next == head) {
          occupied[level] &= ~(1L << idx); // emptied by deschedule
          bits &= ~(1L << off);
          continue;
        }
        long bucket = cur + off;
        long deadline = level == 0 ? (bucket + 1) << s : bucket << s;
        if (deadline < best) {
          best = deadline;
        }
        break;
      }
    }
    return best == Long.MAX_VALUE ? best : best + origin;
  }
}
