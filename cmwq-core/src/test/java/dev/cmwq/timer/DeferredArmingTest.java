package dev.cmwq.timer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Deferred armings ({@link TimerBase#addAfter} while the thread stamps the stack): they read no
 * clock, yet are never placed or fired early, and at most about a stamp period late. The
 * base defers delays of 5 ms and more here (1 s in production) so that firing can be watched.
 */
class DeferredArmingTest {
  private static final long DEFER_MIN = TimeUnit.MILLISECONDS.toNanos(5);
  /** Generous for a loaded CI machine; the stamp period is 0.5 ms. */
  private static final long LATE_BOUND = TimeUnit.MILLISECONDS.toNanos(200);

  private final TimerBase base = new TimerBase("deferred_timer", r -> {
    Thread t = new Thread(r);
    t.setDaemon(true);
    return t;
  }, DEFER_MIN);

  @AfterEach
  void tearDown() {
    base.close();
  }

  /** A timer recording when it fired, and the clock around its last arming call. */
  static final class Probe extends TimerList {
    final AtomicInteger fired = new AtomicInteger();
    final AtomicLong firedAt = new AtomicLong();
    long callStart;
    long callEnd;
    long delay;
    boolean deferred;

    @Override
    protected void fire() {
      firedAt.set(System.nanoTime());
      fired.incrementAndGet();
    }

    void armAfter(TimerBase base, long d) {
      delay = d;
      callStart = System.nanoTime();
      base.addAfter(this, d);
      callEnd = System.nanoTime();
      deferred = (state & TimerList.DEFERRED) != 0;
    }
  }

  /** Timers that have been armed on {@code base} once (a first arming takes the general path). */
  private Probe[] timersOn(int n) {
    Probe[] ps = new Probe[n];
    for (int i = 0; i < n; i++) {
      ps[i] = new Probe();
      base.mod(ps[i], TimerBase.deadline(TimeUnit.HOURS.toNanos(1)));
      ps[i].delete();
    }
    base.size(); // takes the stack: the timers are idle again (not QUEUED)
    return ps;
  }

  @Test
  void deferredArmings_areNeverPlacedEarly_norMuchLater() {
    Probe[] ps = timersOn(6_000);
    int deferred = 0;
    for (int i = 0; i < ps.length; i++) {
      if (i % 1_000 == 0) {
        TimerBaseTest.sleep(2); // stamps fall between the batches; stamping may stop meanwhile
      }
      if (i % 200 == 0) {
        base.startStampingNow(); // again: a preempted arming thread lets stamping stop
      }
      ps[i].armAfter(base, TimeUnit.SECONDS.toNanos(30) + i);
      deferred += ps[i].deferred ? 1 : 0;
    }
    base.size(); // places everything
    assertThat(deferred).as("armings deferred").isGreaterThan(ps.length / 4);
    assertThat(base.deferredPlaced()).isEqualTo(deferred);
    for (Probe p : ps) {
      assertThat(p.when - p.callStart).as("placed deadline minus call start").isGreaterThanOrEqualTo(p.delay);
      assertThat(p.when - p.callEnd - p.delay).as("lateness of the placed deadline").isLessThan(LATE_BOUND);
      assertThat(p.delete()).isTrue();
    }
  }

  @Test
  void aTimerNeverArmedBefore_isDeferredToo() {
    Probe p = new Probe();
    base.startStampingNow();
    p.armAfter(base, TimeUnit.SECONDS.toNanos(30));
    assertThat(p.deferred).isTrue();
    assertThat(p.isPending()).isTrue();
    assertThat(base.size()).isEqualTo(1);
    assertThat(p.when - p.callStart).isGreaterThanOrEqualTo(p.delay);
    assertThat(p.delete()).as("cancelled on this base").isTrue();
    assertThat(base.size()).isZero();
  }

  /**
   * A timer still on the stack from an earlier arming sits below the stamps pushed since: its
   * new arming must read the clock, or it would be placed at an older stamp's time.
   */
  @Test
  void anArmingOfATimerStillOnTheStack_readsTheClock() {
    Probe[] ps = timersOn(21);
    Probe p = ps[0];
    base.startStampingNow();
    p.armAfter(base, TimeUnit.SECONDS.toNanos(30));
    assertThat(p.deferred).isTrue();
    assertThat(p.delete()).isTrue(); // disarmed, still on the stack
    for (int k = 1; k < ps.length; k++) {
      TimerBaseTest.sleep(1);
      base.startStampingNow();
      ps[k].armAfter(base, TimeUnit.SECONDS.toNanos(30)); // stamps follow, above p
    }
    boolean onStack = (p.state & TimerList.QUEUED) != 0; // unless a drain came (a slow machine)
    p.armAfter(base, TimeUnit.SECONDS.toNanos(30));
    if (onStack) {
      assertThat(p.deferred).as("deferred while on the stack").isFalse();
    }
    base.size();
    assertThat(p.when - p.callStart).as("placed deadline minus call start")
        .isGreaterThanOrEqualTo(p.delay);
  }

  @Test
  void deferredTimersFireOnce_neverEarly() {
    Probe[] ps = timersOn(400);
    base.startStampingNow();
    int deferred = 0;
    for (int i = 0; i < ps.length; i++) {
      ps[i].armAfter(base, DEFER_MIN + TimeUnit.MICROSECONDS.toNanos(50L * i)); // 5–25 ms
      deferred += ps[i].deferred ? 1 : 0;
    }
    assertThat(deferred).as("armings deferred").isGreaterThan(0);
    TimerBaseTest.waitFor(() -> {
      for (Probe p : ps) {
        if (p.fired.get() == 0) {
          return false;
        }
      }
      return true;
    });
    TimerBaseTest.sleep(30);
    for (Probe p : ps) {
      assertThat(p.fired.get()).as("fired once").isEqualTo(1);
      assertThat(p.firedAt.get() - p.callStart).as("fired after its delay").isGreaterThanOrEqualTo(p.delay);
    }
  }

  @Test
  void deferredArmingsRacingDrainsAndStamps_areNeverPlacedEarly() throws InterruptedException {
    Probe[] ps = timersOn(4_000);
    Thread drainer = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        base.size();
      }
    });
    drainer.setDaemon(true);
    drainer.start();
    Thread[] armers = new Thread[2];
    for (int a = 0; a < armers.length; a++) {
      int first = a * ps.length / 2;
      armers[a] = new Thread(() -> {
        for (int round = 0; round < 20; round++) {
          base.startStampingNow();
          for (int i = first; i < first + ps.length / 2; i++) {
            ps[i].delete();
            while ((ps[i].state & (TimerList.QUEUED | TimerList.ARMED)) != 0) {
              Thread.onSpinWait(); // deferral needs an idle timer: wait for the drainer
            }
            ps[i].armAfter(base, TimeUnit.SECONDS.toNanos(30) + round);
          }
        }
      });
      armers[a].start();
    }
    for (Thread t : armers) {
      t.join(TimeUnit.SECONDS.toMillis(60));
      assertThat(t.isAlive()).isFalse();
    }
    drainer.interrupt();
    drainer.join(TimeUnit.SECONDS.toMillis(30));
    base.size();
    assertThat(base.deferredPlaced()).as("armings deferred").isGreaterThan(0);
    for (Probe p : ps) {
      assertThat(p.when - p.callStart).as("placed deadline minus call start").isGreaterThanOrEqualTo(p.delay);
    }
  }

  @Test
  void stampingStops_whenDeferredArmingsStop_andStartsAtAHighRate() {
    base.startStampingNow();
    TimerBaseTest.waitFor(() -> !base.stamping());
    long rounds = base.rounds();
    TimerBaseTest.sleep(50);
    assertThat(base.rounds() - rounds).as("no ticking once stopped").isZero();
    // Pushes at several hundred thousand per second turn it on; a machine that preempts this
    // thread through a whole burst gets a few more tries.
    boolean started = false;
    for (int attempt = 0; attempt < 10 && !started; attempt++) {
      Probe[] ps = timersOn(3 * TimerBase.STAMP_CHECK_DEPTH);
      for (Probe p : ps) {
        base.addAfter(p, TimeUnit.SECONDS.toNanos(60));
      }
      started = base.stamping() || base.deferredPlaced() > 0;
      for (Probe p : ps) {
        p.delete();
      }
    }
    assertThat(started).as("a burst of armings started stamping").isTrue();
  }
}
