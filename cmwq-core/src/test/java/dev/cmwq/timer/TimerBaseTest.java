package dev.cmwq.timer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The thread-safe base: sleeping until the next deadline, wake-ups, delete/deleteSync. */
class TimerBaseTest {
  private final TimerBase base = new TimerBase("test_timer", r -> {
    Thread t = new Thread(r);
    t.setDaemon(true);
    return t;
  });

  @AfterEach
  void tearDown() {
    base.close();
  }

  static final class Counting extends TimerList {
    final AtomicInteger fired = new AtomicInteger();
    final Runnable body;

    Counting(Runnable body) {
      this.body = body;
    }

    @Override
    protected void fire() {
      body.run();
      fired.incrementAndGet();
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  static void waitFor(java.util.function.BooleanSupplier cond) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out");
      }
      sleep(1);
    }
  }

  @Test
  void idleOrFarTimers_costNoWakeUps_andReArmingFarTimersWakesNothing() {
    sleep(50);
    long rounds = base.rounds();
    sleep(200);
    assertThat(base.rounds() - rounds).as("loop rounds with nothing armed").isZero();
    List<Counting> timers = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      Counting t = new Counting(() -> { });
      timers.add(t);
      base.mod(t, TimerBase.deadline(TimeUnit.SECONDS.toNanos(60) + i));
    }
    long wakeups = base.wakeups();
    rounds = base.rounds();
    for (int r = 0; r < 20; r++) {
      for (Counting t : timers) {
        base.mod(t, TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
      }
    }
    sleep(200);
    assertThat(base.wakeups() - wakeups).as("wake-ups for 20 000 far re-arms").isZero();
    // Far timers (level 2 of the wheel and up) need only a rare cascade look, not a tick.
    assertThat(base.rounds() - rounds).as("loop rounds").isLessThanOrEqualTo(2);
    assertThat(base.size()).isEqualTo(1000);
  }

  @Test
  void anEarlierTimerWakesTheThread_andFiresOnTime() {
    Counting far = new Counting(() -> { });
    base.mod(far, TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
    CountDownLatch fired = new CountDownLatch(1);
    long[] at = new long[1];
    Counting near = new Counting(() -> {
      at[0] = System.nanoTime();
      fired.countDown();
    });
    long deadline = TimerBase.deadline(TimeUnit.MILLISECONDS.toNanos(20));
    base.mod(near, deadline);
    try {
      assertThat(fired.await(30, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    assertThat(at[0]).as("never early").isGreaterThanOrEqualTo(deadline);
    assertThat(near.isPending()).isFalse();
    assertThat(far.isPending()).isTrue();
    assertThat(far.delete()).isTrue();
    assertThat(far.delete()).isFalse();
  }

  @Test
  void equalDeadlines_fireInArmingOrder_evenAcrossLevels() {
    List<Integer> order = Collections.synchronizedList(new ArrayList<>());
    long deadline = TimerBase.deadline(TimeUnit.MILLISECONDS.toNanos(300));
    for (int i = 0; i < 500; i++) {
      int id = i;
      base.mod(new Counting(() -> order.add(id)), deadline);
      if (i == 250) {
        sleep(100); // later arms land on a lower level than earlier ones
      }
    }
    waitFor(() -> order.size() == 500);
    for (int i = 1; i < 500; i++) {
      assertThat(order.get(i)).isEqualTo(order.get(i - 1) + 1);
    }
  }

  /**
   * The case where order needs the sort: timers armed later for the same deadline land on
   * level 0 while the earlier ones still wait on level 1; when those cascade they are appended
   * behind. Built from the wheel's bucket edges: D lies 12 ms into a level-1 bucket that starts
   * at S; a helper timer at S - 16 ms makes the thread advance the wheel's time there; group B
   * is armed right after (20-some ms before D: level 0), group A was armed long before (level 1).
   */
  @Test
  void equalDeadlines_keepArmingOrderWhenLaterTimersLandOnALowerLevel() {
    long w1 = TimerWheel.TICK_NANOS * 64; // level-1 bucket width
    long origin = base.wheelOrigin();
    long now = System.nanoTime();
    long k = (now - origin) / w1 + 8; // a bucket about 8 x 33 ms ahead
    long start = origin + k * w1;
    long deadline = start + TimeUnit.MILLISECONDS.toNanos(12);
    List<Integer> order = Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < 50; i++) {
      int id = i;
      base.mod(new Counting(() -> order.add(id)), deadline); // group A: level 1
    }
    CountDownLatch helperFired = new CountDownLatch(1);
    base.mod(new Counting(helperFired::countDown), start - TimeUnit.MILLISECONDS.toNanos(16));
    try {
      assertThat(helperFired.await(30, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    for (int i = 50; i < 100; i++) {
      int id = i;
      base.mod(new Counting(() -> order.add(id)), deadline); // group B: level 0, if still in time
    }
    waitFor(() -> order.size() == 100);
    for (int i = 1; i < 100; i++) {
      assertThat(order.get(i)).as("fire order " + order).isEqualTo(order.get(i - 1) + 1);
    }
  }

  @Test
  void deleteSync_waitsForARunningFunction() throws Exception {
    CountDownLatch running = new CountDownLatch(1);
    AtomicBoolean finished = new AtomicBoolean();
    Counting t = new Counting(() -> {
      running.countDown();
      sleep(100);
      finished.set(true);
    });
    base.mod(t, TimerBase.deadline(0));
    assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(t.delete()).as("running: nothing to disarm").isFalse();
    assertThat(t.deleteSync()).isFalse();
    assertThat(finished.get()).as("deleteSync returned after the function").isTrue();
  }

  @Test
  void reschedule_movesOnlyArmedTimers() {
    Counting t = new Counting(() -> { });
    assertThat(base.reschedule(t, TimerBase.deadline(1000))).isFalse();
    base.mod(t, TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
    long later = TimerBase.deadline(TimeUnit.SECONDS.toNanos(120));
    assertThat(base.reschedule(t, later)).isTrue();
    assertThat(t.expires()).isEqualTo(later);
    assertThat(base.deleteIf(x -> x == t)).containsExactly(t);
    assertThat(t.isPending()).isFalse();
  }

  @Test
  void timersCanMoveBetweenBases_andAClosedBaseRefuses() {
    Counting t = new Counting(() -> { });
    try (TimerBase other = new TimerBase("other_timer", r -> {
      Thread th = new Thread(r);
      th.setDaemon(true);
      return th;
    })) {
      other.mod(t, TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
      assertThat(base.mod(t, TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)))).isTrue();
      assertThat(other.size()).isZero();
      assertThat(base.size()).isEqualTo(1);
    }
    TimerBase closed = new TimerBase("closed_timer", Thread::new);
    closed.close();
    assertThatThrownBy(() -> closed.mod(new Counting(() -> { }), TimerBase.deadline(1)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }
}
