package dev.cmwq.timer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The wheel as a data structure, driven with a manual clock: timers never fire early, fire at
 * most one tick late, cascade correctly from every level, and can be removed at any point.
 */
class TimerWheelTest {
  static final long TICK = TimerWheel.TICK_NANOS;
  static final long T0 = 1_000_000_000_000L; // an arbitrary nanoTime origin

  static final class T extends TimerList {
    final int id;

    T(int id) {
      this.id = id;
    }

    @Override
    protected void fire() {
    }

    @Override
    public String toString() {
      return "T" + id;
    }
  }

  static T arm(TimerWheel w, int id, long expires) {
    T t = new T(id);
    t.when = expires;
    w.schedule(t);
    return t;
  }

  static List<TimerList> advance(TimerWheel w, long now) {
    List<TimerList> out = new ArrayList<>();
    w.advance(now, out::add);
    return out;
  }

  @Test
  void firesAtTheEndOfItsTick_neverEarly() {
    TimerWheel w = new TimerWheel(T0);
    T t = arm(w, 1, T0 + 5 * TICK + 10);
    assertThat(w.nextDeadline()).isEqualTo(T0 + 6 * TICK);
    assertThat(advance(w, T0 + 5 * TICK + 9)).isEmpty();
    assertThat(advance(w, T0 + 5 * TICK + 10)).containsExactly(t);
    assertThat(w.size()).isZero();
    assertThat(w.nextDeadline()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void farTimersCascadeThroughEveryLevel() {
    TimerWheel w = new TimerWheel(T0);
    long[] delays = {TICK * 70, TICK * 5000, TICK * 300_000, TICK * 20_000_000L,
        TICK * 1_500_000_000L, TimerWheel.MAX_DELAY_NANOS / 3};
    List<T> timers = new ArrayList<>();
    for (int i = 0; i < delays.length; i++) {
      timers.add(arm(w, i, T0 + delays[i]));
    }
    List<TimerList> fired = new ArrayList<>();
    long now = T0;
    int wakeups = 0;
    while (w.size() > 0) {
      long next = w.nextDeadline();
      assertThat(next).isGreaterThan(now);
      now = next;
      wakeups++;
      for (TimerList t : advance(w, now)) {
        assertThat(now).as("not early").isGreaterThanOrEqualTo(t.when);
        assertThat(now - t.when).as("at most a tick late").isLessThanOrEqualTo(TICK);
        fired.add(t);
      }
    }
    assertThat(fired).containsExactlyElementsOf(timers);
    // Following nextDeadline() visits only a handful of points per level, never every tick.
    assertThat(wakeups).isLessThan(delays.length * 8 * 7);
  }

  @Test
  void descheduleAtAnyLevel() {
    TimerWheel w = new TimerWheel(T0);
    T near = arm(w, 1, T0 + 3 * TICK);
    T far = arm(w, 2, T0 + 100_000 * TICK);
    w.deschedule(far);
    assertThat(w.size()).isEqualTo(1);
    assertThat(w.nextDeadline()).isEqualTo(T0 + 4 * TICK);
    w.deschedule(near);
    assertThat(w.nextDeadline()).isEqualTo(Long.MAX_VALUE);
    assertThat(advance(w, T0 + 200_000 * TICK)).isEmpty();
  }

  @Test
  void alreadyDueTimersFireAtTheNextAdvance() {
    TimerWheel w = new TimerWheel(T0);
    advance(w, T0 + 10 * TICK);
    T past = arm(w, 1, T0);
    assertThat(w.nextDeadline()).isLessThanOrEqualTo(T0 + 11 * TICK);
    assertThat(advance(w, T0 + 10 * TICK + 1)).containsExactly(past);
  }

  /** Random arms, cancels and time jumps against a reference map. */
  @Test
  void randomizedAgainstAReference() {
    Random rnd = new Random(42);
    for (int round = 0; round < 20; round++) {
      TimerWheel w = new TimerWheel(T0);
      Map<T, Long> armed = new HashMap<>();
      long now = T0;
      int id = 0;
      for (int step = 0; step < 2000; step++) {
        int op = rnd.nextInt(10);
        if (op < 5) {
          long delay = switch (rnd.nextInt(4)) {
            case 0 -> rnd.nextInt((int) TICK * 3);
            case 1 -> (long) rnd.nextInt(200) * TICK + rnd.nextInt((int) TICK);
            case 2 -> (long) rnd.nextInt(100_000) * TICK;
            default -> (long) (rnd.nextDouble() * TICK * 50_000_000L);
          };
          T t = arm(w, id++, now + delay);
          armed.put(t, t.when);
        } else if (op < 7 && !armed.isEmpty()) {
          T victim = armed.keySet().iterator().next();
          w.deschedule(victim);
          armed.remove(victim);
        } else {
          long jump = rnd.nextBoolean() ? rnd.nextInt((int) TICK * 4)
              : (long) (rnd.nextDouble() * TICK * (rnd.nextBoolean() ? 500 : 5_000_000));
          long target = now + jump;
          // Visit the wheel's own deadlines on the way, as the timer thread would, and also
          // jump straight past several of them.
          while (true) {
            long next = rnd.nextInt(3) == 0 ? target : Math.min(target, w.nextDeadline());
            now = Math.max(now, next);
            for (TimerList t : advance(w, now)) {
              Long e = armed.remove((T) t);
              assertThat(e).as("fired timer was armed").isNotNull();
              assertThat(now).as("never early").isGreaterThanOrEqualTo(e);
            }
            if (now >= target) {
              break;
            }
          }
          long deadline = w.nextDeadline();
          for (Map.Entry<T, Long> en : armed.entrySet()) {
            assertThat(en.getValue()).as("armed timer still in the future").isGreaterThan(now);
            // its tick's end is never missed by nextDeadline()
            assertThat(deadline).isLessThanOrEqualTo(((en.getValue() - T0) / TICK + 1) * TICK + T0);
          }
        }
        assertThat(w.size()).isEqualTo(armed.size());
      }
    }
  }
}
