package dev.cmwq.timer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
  void idleOrFarTimers_costNoWakeUps_andReArmingFarTimersAtMostOnePer100ms() {
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
    // Let the thread place them and go back to sleep: from then on nothing should rouse it.
    assertThat(base.size()).isEqualTo(1000);
    waitFor(base::parked);
    long wakeups = base.wakeups();
    rounds = base.rounds();
    long t0 = System.nanoTime();
    for (int r = 0; r < 20; r++) {
      for (Counting t : timers) {
        base.mod(t, TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
      }
    }
    sleep(200);
    // The re-arms only ask for the stack to be taken within 100 ms: one wake-up per 100 ms at
    // most, not one per re-arm (20 000), and no tick.
    long periods = 1 + (System.nanoTime() - t0) / TimerBase.PLACE_DELAY_NANOS;
    assertThat(base.wakeups() - wakeups).as("wake-ups for 20 000 far re-arms")
        .isLessThanOrEqualTo(periods);
    // Far timers (level 2 of the wheel and up) need only a rare cascade look, not a tick.
    assertThat(base.rounds() - rounds).as("loop rounds").isLessThanOrEqualTo(periods + 2);
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

  /** A thread that takes the reconcile stack (through {@code size()}) until {@code stop}. */
  private Thread drainer(AtomicBoolean stop) {
    return new Thread(() -> {
      while (!stop.get()) {
        base.size();
        Thread.yield();
      }
    });
  }

  /**
   * Waits until no timer is armed or running, then checks each timer's accounting: its fires
   * plus its cancelled or replaced armings equal its armings.
   */
  private static void assertEveryArmingEndedOnce(Counting[] timers, AtomicLong[] arms,
      AtomicLong[] ended) {
    waitFor(() -> {
      for (Counting t : timers) {
        if (t.isPending() || (t.state & TimerList.RUNNING) != 0) {
          return false;
        }
      }
      return true;
    });
    for (int i = 0; i < timers.length; i++) {
      assertThat(timers[i].fired.get() + ended[i].get())
          .as("timer %d: fires + cancelled or replaced armings = armings", i)
          .isEqualTo(arms[i].get());
    }
  }

  /**
   * The lock-free protocol as a whole: three threads arm, re-arm, move and cancel 48 short
   * timers (some of which re-arm themselves when they fire) while a fourth keeps taking the
   * base lock to drain the stack. Every arming must end in exactly one of: its timer fired, a
   * delete that returned true, or a later arming that reported it replaced it. A fire of a
   * stale placement, a lost push or a delete that reported the wrong answer breaks the count.
   */
  @Test
  void concurrentArmsCancelsAndReArms_fireExactlyOncePerLiveArming() throws Exception {
    int n = 48;
    AtomicLong[] arms = new AtomicLong[n];
    AtomicLong[] ended = new AtomicLong[n]; // deletes that returned true + replaced armings
    Counting[] timers = new Counting[n];
    for (int i = 0; i < n; i++) {
      arms[i] = new AtomicLong();
      ended[i] = new AtomicLong();
      int id = i;
      AtomicInteger selfArms = new AtomicInteger();
      timers[i] = new Counting(() -> {
        if (id % 4 == 0 && selfArms.incrementAndGet() % 3 != 0) {
          arms[id].incrementAndGet(); // counted first: the new arming may fire at once
          if (base.mod(timers[id], TimerBase.deadline(200_000))) {
            ended[id].incrementAndGet();
          }
        }
      });
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < 3; w++) {
      long seed = 31 * w + 7;
      threads.add(new Thread(() -> {
        SplittableRandom rnd = new SplittableRandom(seed);
        try {
          for (int k = 0; k < 1_000_000; k++) {
            int i = rnd.nextInt(n);
            Counting t = timers[i];
            long delay = rnd.nextInt(2_000_000); // up to 2 ms: many fire during the run
            switch (rnd.nextInt(5)) {
              case 0:
              case 1:
                arms[i].incrementAndGet();
                if (base.mod(t, TimerBase.deadline(delay))) {
                  ended[i].incrementAndGet();
                }
                break;
              case 2:
                // Counted before the call: once it returns true the new arming may fire.
                arms[i].incrementAndGet();
                if (base.reschedule(t, TimerBase.deadline(delay))) {
                  ended[i].incrementAndGet();
                } else {
                  arms[i].decrementAndGet();
                }
                break;
              case 3:
                if (t.delete()) {
                  ended[i].incrementAndGet();
                }
                break;
              default:
                if (t.deleteSync()) {
                  ended[i].incrementAndGet();
                }
                break;
            }
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }));
    }
    Thread drainer = drainer(stop);
    drainer.start();
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(TimeUnit.MINUTES.toMillis(5));
      assertThat(t.isAlive()).as("worker finished").isFalse();
    }
    // Stop the self-re-arming ones, then wait for every remaining arming to fire.
    for (int i = 0; i < n; i += 4) {
      if (timers[i].deleteSync()) {
        ended[i].incrementAndGet();
      }
    }
    stop.set(true);
    drainer.join();
    assertThat(failure.get()).isNull();
    assertEveryArmingEndedOnce(timers, arms, ended);
    assertThat(base.size()).isZero();
  }

  /**
   * {@code add}, as a {@code DelayedWork}'s PENDING owner uses it: each timer has one owner
   * thread that arms it whenever it is not armed, mostly from the idle state (not armed, off
   * the stack, not running), which {@code add} arms with a plain release store. A second thread
   * reschedules and deletes the same timers, a third drains. The store is safe only if nobody
   * but the owner writes an idle state word: a reschedule that took the BUSY bit of an idle
   * timer and stored the old state back would erase an arming, and the count breaks (as jcstress
   * {@code TimerAddVsReschedule} shows for such a reschedule).
   */
  @Test
  void addOnIdleTimers_racingReschedulesAndDeletes_endsEveryArmingOnce() throws Exception {
    int n = 16;
    AtomicLong[] arms = new AtomicLong[n];
    AtomicLong[] ended = new AtomicLong[n]; // deletes that returned true + replaced armings
    Counting[] timers = new Counting[n];
    for (int i = 0; i < n; i++) {
      arms[i] = new AtomicLong();
      ended[i] = new AtomicLong();
      timers[i] = new Counting(() -> { });
      base.mod(timers[i], TimerBase.deadline(0)); // on this base from now on; fires at once
      arms[i].incrementAndGet();
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (int o = 0; o < 2; o++) {
      int first = o * n / 2;
      long seed = 17 * o + 3;
      threads.add(new Thread(() -> { // the owner of timers first .. first + n/2 - 1
        SplittableRandom rnd = new SplittableRandom(seed);
        try {
          for (int k = 0; k < 400_000; k++) {
            int i = first + rnd.nextInt(n / 2);
            if (!timers[i].isPending()) {
              arms[i].incrementAndGet(); // counted first: the arming may fire at once
              base.add(timers[i], TimerBase.deadline(rnd.nextInt(200_000)));
            } else if (rnd.nextInt(4) == 0) {
              if (timers[i].delete()) {
                ended[i].incrementAndGet();
              }
              base.size(); // takes the stack: the next add finds the word idle
            }
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }));
    }
    Thread disturber = new Thread(() -> {
      SplittableRandom rnd = new SplittableRandom(99);
      try {
        while (!stop.get()) {
          int i = rnd.nextInt(n);
          if (rnd.nextBoolean()) {
            arms[i].incrementAndGet();
            if (base.reschedule(timers[i], TimerBase.deadline(rnd.nextInt(200_000)))) {
              ended[i].incrementAndGet();
            } else {
              arms[i].decrementAndGet();
            }
          } else if (timers[i].delete()) {
            ended[i].incrementAndGet();
          }
        }
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      }
    });
    Thread drainer = drainer(stop);
    disturber.start();
    drainer.start();
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(TimeUnit.MINUTES.toMillis(5));
      assertThat(t.isAlive()).as("owner finished").isFalse();
    }
    stop.set(true);
    disturber.join();
    drainer.join();
    assertThat(failure.get()).isNull();
    assertEveryArmingEndedOnce(timers, arms, ended);
  }

  /**
   * Timers expire in batches and fire one by one with the lock released; a timer of the batch
   * that is re-armed before its turn must not fire for the old deadline. B1 is re-armed and
   * placed in the wheel again by a drain (size()) while A's function blocks; B2 is re-armed and
   * left on the stack. Both must stay armed for their new deadline.
   */
  @Test
  void aTimerReArmedAfterItExpired_butBeforeItsTurn_waitsForItsNewDeadline() throws Exception {
    CountDownLatch aRunning = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Counting a = new Counting(() -> {
      aRunning.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    });
    Counting b1 = new Counting(() -> { });
    Counting b2 = new Counting(() -> { });
    Counting after = new Counting(() -> { });
    long deadline = TimerBase.deadline(TimeUnit.MILLISECONDS.toNanos(5));
    base.mod(a, deadline);
    base.mod(b1, deadline); // same deadline, armed later: fires after a, in the same batch
    base.mod(b2, deadline);
    assertThat(aRunning.await(30, TimeUnit.SECONDS)).isTrue();
    long far = TimerBase.deadline(TimeUnit.SECONDS.toNanos(60));
    assertThat(base.reschedule(b1, far)).as("expired but not fired: still armed").isTrue();
    assertThat(base.size()).as("b1 placed again").isEqualTo(1);
    assertThat(base.reschedule(b2, far)).isTrue();
    base.mod(after, TimerBase.deadline(0)); // a later batch: its firing shows a's batch is done
    release.countDown();
    waitFor(() -> after.fired.get() == 1);
    assertThat(b1.fired.get()).as("b1 fired for its old deadline").isZero();
    assertThat(b2.fired.get()).as("b2 fired for its old deadline").isZero();
    assertThat(b1.isPending()).isTrue();
    assertThat(b2.isPending()).isTrue();
    assertThat(base.size()).isEqualTo(2);
  }

  /**
   * No lost wake-up between an arming and the thread going to sleep: each timer is armed due
   * now right after the previous one fired, i.e. while the thread is deciding how long to sleep
   * (the only other timer is a minute away). A wake-up lost in that window leaves a timer
   * unfired for the minute, and the wait below times out.
   */
  @Test
  void armingWhileTheThreadGoesToSleep_alwaysWakesIt() {
    base.mod(new Counting(() -> { }), TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
    AtomicInteger fired = new AtomicInteger();
    for (int i = 0; i < 3000; i++) {
      base.mod(new Counting(fired::incrementAndGet), TimerBase.deadline(0));
      int want = i + 1;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (fired.get() < want) {
        assertThat(System.nanoTime() - deadline).as("timer %d fired", i).isNegative();
        Thread.onSpinWait();
      }
    }
  }

  /**
   * A timer still on the stack (armed far, not yet placed) that is re-armed for a near deadline
   * pushes nothing; the new deadline must still wake the thread (through the stack minimum).
   */
  @Test
  void reArmingATimerStillOnTheStack_earlier_wakesTheThread() throws Exception {
    base.mod(new Counting(() -> { }), TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
    assertThat(base.size()).isEqualTo(1);
    waitFor(base::parked);
    CountDownLatch fired = new CountDownLatch(1);
    Counting t = new Counting(fired::countDown);
    base.mod(t, TimerBase.deadline(TimeUnit.SECONDS.toNanos(120))); // after the first: no wake
    assertThat(base.reschedule(t, TimerBase.deadline(TimeUnit.MILLISECONDS.toNanos(10))))
        .isTrue();
    assertThat(fired.await(20, TimeUnit.SECONDS)).as("fired long before the old deadline").isTrue();
  }

  /**
   * Cancelled timers must not stay reachable until the thread's next deadline (a minute away
   * here): the first push onto the empty stack asks the thread to take it within
   * {@link TimerBase#PLACE_DELAY_NANOS}, and it lets go of them, with no lock holder's help.
   */
  @Test
  void cancelledTimers_areReleasedWithinThePlacementDelay() {
    base.mod(new Counting(() -> { }), TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
    assertThat(base.size()).isEqualTo(1);
    waitFor(base::parked);
    List<java.lang.ref.WeakReference<Counting>> refs = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      Counting t = new Counting(() -> { });
      base.mod(t, TimerBase.deadline(TimeUnit.SECONDS.toNanos(120)));
      assertThat(t.delete()).isTrue();
      if (i % 100 == 0) {
        refs.add(new java.lang.ref.WeakReference<>(t));
      }
    }
    waitFor(() -> {
      System.gc();
      return refs.stream().allMatch(r -> r.get() == null);
    });
  }

  @Test
  void add_armsAnIdleTimer_andRefusesAnArmedOne() {
    CountDownLatch fired = new CountDownLatch(1);
    Counting t = new Counting(fired::countDown);
    base.add(t, TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
    assertThat(t.isPending()).isTrue();
    long expires = t.expires();
    assertThatThrownBy(() -> base.add(t, TimerBase.deadline(0)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("armed");
    assertThat(t.expires()).as("the refused add changed nothing").isEqualTo(expires);
    assertThat(t.delete()).isTrue();
    base.add(t, TimerBase.deadline(0));
    try {
      assertThat(fired.await(30, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
