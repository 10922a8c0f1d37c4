package dev.cmwq;

import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 item 9 and issue 3: delayed work on the system's timer wheel. Timing assertions use
 * wide margins (a loaded 2-core machine); exactness is checked by {@code TimerWheelTest}.
 */
class DelayedWorkTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    TestSupport.closeAndCheck(sys);
  }

  /** An item that records when it ran. */
  static final class Timed extends DelayedWork {
    final AtomicInteger runs = new AtomicInteger();
    final AtomicLong lastRun = new AtomicLong();

    Timed() {
      super(w -> {
        Timed t = (Timed) w;
        t.lastRun.set(System.nanoTime());
        t.runs.incrementAndGet();
      });
    }
  }

  static long ms(long nanos) {
    return nanos / 1_000_000;
  }

  @Test
  void queueDelayedWork_runsOnceAfterTheDelay() {
    Workqueue wq = sys.workqueue("dw").build();
    Timed dw = new Timed();
    long t0 = System.nanoTime();
    assertThat(wq.queueDelayedWork(dw, Duration.ofMillis(50))).isTrue();
    assertThat(dw.isPending()).isTrue();
    assertThat(dw.isTimerPending()).isTrue();
    assertThat(wq.queueDelayedWork(dw, Duration.ofMillis(1))).as("already pending").isFalse();
    await("ran", () -> dw.runs.get() == 1);
    assertThat(ms(dw.lastRun.get() - t0)).isGreaterThanOrEqualTo(50);
    assertThat(dw.isPending()).isFalse();
    assertThat(dw.isTimerPending()).isFalse();
  }

  @Test
  void zeroAndNegativeDelaysQueueAtOnce_hugeDelaysSaturate() {
    Workqueue wq = sys.workqueue("dw0").build();
    Timed dw = new Timed();
    assertThat(wq.queueDelayedWork(dw, Duration.ZERO)).isTrue();
    assertThat(dw.isTimerPending()).isFalse(); // no timer at all for delay 0
    dw.flush();
    assertThat(dw.runs.get()).isEqualTo(1);
    assertThat(wq.queueDelayedWork(dw, Duration.ofSeconds(-5))).isTrue();
    dw.flush();
    assertThat(dw.runs.get()).isEqualTo(2);
    assertThat(wq.queueDelayedWork(dw, Duration.ofSeconds(Long.MAX_VALUE))).isTrue();
    assertThat(dw.isTimerPending()).isTrue();
    assertThat(dw.timer.expires() - System.nanoTime()).isGreaterThan(Duration.ofDays(365 * 70).toNanos());
    assertThat(dw.cancel()).isTrue();
  }

  @Test
  void modOfAnArmedTimer_reArmsAndRunsOnce() {
    Workqueue wq = sys.workqueue("mod").build();
    Timed dw = new Timed();
    wq.queueDelayedWork(dw, Duration.ofSeconds(30));
    long t0 = System.nanoTime();
    assertThat(wq.modDelayedWork(dw, Duration.ofMillis(40))).as("was pending").isTrue();
    await("ran", () -> dw.runs.get() == 1);
    assertThat(ms(dw.lastRun.get() - t0)).isGreaterThanOrEqualTo(40).isLessThan(10_000);
    TestSupport.plainSleep(50);
    assertThat(dw.runs.get()).as("runs once").isEqualTo(1);
    assertThat(wq.modDelayedWork(dw, Duration.ofMillis(10))).as("was idle").isFalse();
    await("ran again", () -> dw.runs.get() == 2);
  }

  @Test
  void modOfAQueuedItem_delaysItAgain() {
    Workqueue wq = sys.workqueue("mod_queued").ordered().build();
    CountDownLatch gate = new CountDownLatch(1);
    wq.queueWork(new Work(() -> QueueWorkTest.awaitQuietly(gate)));
    Timed dw = new Timed();
    wq.queueDelayedWork(dw, Duration.ZERO); // queued behind the gate, not yet running
    assertThat(dw.isPending()).isTrue();
    assertThat(dw.isTimerPending()).isFalse();
    long t0 = System.nanoTime();
    assertThat(wq.modDelayedWork(dw, Duration.ofMillis(100))).isTrue();
    assertThat(dw.isTimerPending()).isTrue();
    gate.countDown();
    wq.flush();
    assertThat(dw.runs.get()).as("not run from the queue any more").isZero();
    await("ran after the new delay", () -> dw.runs.get() == 1);
    assertThat(ms(dw.lastRun.get() - t0)).isGreaterThanOrEqualTo(100);
  }

  @Test
  void cancelBeforeExpiry_preventsTheRun() {
    Workqueue wq = sys.workqueue("cancel").build();
    Timed dw = new Timed();
    wq.queueDelayedWork(dw, Duration.ofMillis(50));
    assertThat(dw.cancel()).isTrue();
    assertThat(dw.isPending()).isFalse();
    assertThat(dw.cancel()).isFalse();
    TestSupport.plainSleep(120);
    assertThat(dw.runs.get()).isZero();
    // disable works on an armed timer too
    wq.queueDelayedWork(dw, Duration.ofMillis(50));
    assertThat(dw.disable()).isTrue();
    assertThat(wq.queueDelayedWork(dw, Duration.ofMillis(1))).isFalse();
    assertThat(wq.modDelayedWork(dw, Duration.ofMillis(1))).isFalse();
    assertThat(dw.enable()).isTrue();
    TestSupport.plainSleep(80);
    assertThat(dw.runs.get()).isZero();
  }

  @Test
  void cancelSync_ofASelfReArmingItem() {
    Workqueue wq = sys.workqueue("rearm").build();
    AtomicInteger runs = new AtomicInteger();
    AtomicInteger running = new AtomicInteger();
    DelayedWork dw = new DelayedWork(w -> {
      running.incrementAndGet();
      runs.incrementAndGet();
      TestSupport.plainSleep(2);
      running.decrementAndGet();
      wq.queueDelayedWork((DelayedWork) w, Duration.ofMillis(1));
    });
    wq.queueDelayedWork(dw, Duration.ofMillis(1));
    await("re-armed a few times", () -> runs.get() >= 10);
    dw.cancelSync();
    int after = runs.get();
    assertThat(dw.isPending()).isFalse();
    assertThat(running.get()).isZero();
    TestSupport.plainSleep(50);
    assertThat(runs.get()).as("no run after cancelSync").isEqualTo(after);
  }

  @Test
  void flush_firesAnArmedTimerNow() {
    Workqueue wq = sys.workqueue("flush").build();
    Timed dw = new Timed();
    wq.queueDelayedWork(dw, Duration.ofSeconds(60));
    long t0 = System.nanoTime();
    assertThat(dw.flush()).isTrue();
    assertThat(dw.runs.get()).isEqualTo(1);
    assertThat(ms(System.nanoTime() - t0)).isLessThan(20_000);
    assertThat(dw.isPending()).isFalse();
    assertThat(dw.flush()).as("idle").isFalse();
    // workqueue flush does not wait for armed timers (the kernel's semantics)
    wq.queueDelayedWork(dw, Duration.ofSeconds(60));
    wq.flush();
    assertThat(dw.runs.get()).isEqualTo(1);
    assertThat(dw.cancel()).isTrue();
  }

  @Test
  void equalDeadlinesFireInArmingOrder() {
    Workqueue wq = sys.workqueue("order").ordered().build();
    List<Integer> order = Collections.synchronizedList(new ArrayList<>());
    List<DelayedWork> items = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      int id = i;
      items.add(new DelayedWork(() -> order.add(id)));
    }
    // Arm all for the same instant, from two threads taking turns.
    long deadlineMillis = 200;
    for (DelayedWork dw : items) {
      wq.queueDelayedWork(dw, Duration.ofMillis(deadlineMillis));
    }
    await("all ran", () -> order.size() == items.size());
    for (int i = 1; i < order.size(); i++) {
      // same Duration from later calls means equal or later deadlines: never out of order
      assertThat(order.get(i)).isGreaterThan(order.get(i - 1));
    }
  }

  /** Lateness stays around a tick even with the CPUs busy. */
  @Test
  void latenessUnderLoad() throws Exception {
    Workqueue wq = sys.workqueue("late").unbound().build();
    AtomicBoolean stop = new AtomicBoolean();
    Thread[] hogs = new Thread[2];
    for (int i = 0; i < hogs.length; i++) {
      hogs[i] = new Thread(() -> {
        while (!stop.get()) {
          TestSupport.burn(1);
        }
      });
      hogs[i].start();
    }
    int n = 300;
    long[] lateness = new long[n];
    CountDownLatch done = new CountDownLatch(n);
    try {
      for (int i = 0; i < n; i++) {
        int id = i;
        long delay = 5 + (i % 50);
        long due = System.nanoTime() + delay * 1_000_000L;
        wq.queueDelayedWork(new DelayedWork(() -> {
          lateness[id] = System.nanoTime() - due;
          done.countDown();
        }), Duration.ofMillis(delay));
        if (i % 10 == 0) {
          TestSupport.plainSleep(1);
        }
      }
      QueueWorkTest.awaitQuietly(done);
    } finally {
      stop.set(true);
      for (Thread h : hogs) {
        h.join();
      }
    }
    long[] sorted = lateness.clone();
    java.util.Arrays.sort(sorted);
    assertThat(sorted[0]).as("never early").isGreaterThanOrEqualTo(0);
    long p50 = sorted[n / 2];
    long p90 = sorted[n * 9 / 10];
    System.out.println("delayed work lateness under load: p50=" + p50 / 1000 + "us p90="
        + p90 / 1000 + "us max=" + sorted[n - 1] / 1000 + "us");
    // one tick (1.05 ms) plus scheduling noise of a loaded machine
    assertThat(p50).as("p50 lateness").isLessThan(Duration.ofMillis(15).toNanos());
  }

  @Test
  void timerFiringIntoADrainingWorkqueue_isRejectedLoudly() throws Exception {
    Workqueue wq = sys.workqueue("draining").build();
    CountDownLatch inItem = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    wq.queueWork(new Work(() -> {
      inItem.countDown();
      QueueWorkTest.awaitQuietly(gate);
    }));
    QueueWorkTest.awaitQuietly(inItem);
    Thread drainer = new Thread(wq::drain);
    drainer.start();
    await("draining", () -> (wq.flags & Workqueue.__WQ_DRAINING) != 0);
    long warnings = Warn.count();
    Timed dw = new Timed();
    wq.queueDelayedWork(dw, Duration.ofMillis(10));
    // The item is released before the refusal is logged: wait for the log.
    await("timer fired and was refused loudly", () -> Warn.count() > warnings);
    assertThat(dw.isPending()).as("left not pending").isFalse();
    assertThat(dw.runs.get()).isZero();
    gate.countDown();
    drainer.join();
  }

  @Test
  void destroy_cancelsItsArmedDelayedItems() {
    Workqueue wq = sys.workqueue("doomed").build();
    Workqueue other = sys.workqueue("survivor").build();
    Timed mine = new Timed();
    Timed theirs = new Timed();
    wq.queueDelayedWork(mine, Duration.ofSeconds(60));
    other.queueDelayedWork(theirs, Duration.ofSeconds(60));
    wq.destroy();
    assertThat(mine.isPending()).as("cancelled by destroy").isFalse();
    assertThat(theirs.isTimerPending()).as("another workqueue's timer is untouched").isTrue();
    assertThatThrownBy(() -> wq.queueDelayedWork(mine, Duration.ofMillis(1)))
        .isInstanceOf(RejectedExecutionException.class);
    assertThat(mine.isPending()).isFalse();
    other.modDelayedWork(theirs, Duration.ofMillis(1));
    await("the other one ran", () -> theirs.runs.get() == 1);
    assertThat(mine.runs.get()).isZero();
  }

  @Test
  void armedOnAnotherWorkqueue_isDetected() {
    Workqueue a = sys.workqueue("a").build();
    Workqueue b = sys.workqueue("b").build();
    Timed dw = new Timed();
    a.queueDelayedWork(dw, Duration.ofSeconds(10));
    assertThatThrownBy(() -> b.queueDelayedWork(dw, Duration.ofMillis(1)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("pending on workqueue a");
    // mod moves it, as the kernel's mod_delayed_work_on does
    assertThat(b.modDelayedWork(dw, Duration.ofMillis(5))).isTrue();
    await("ran", () -> dw.runs.get() == 1);
  }

  @Test
  void scheduleDelayedWorkAndNulls() {
    assertThatThrownBy(() -> sys.system().queueDelayedWork(null, Duration.ZERO))
        .isInstanceOf(NullPointerException.class).hasMessage("dwork");
    assertThatThrownBy(() -> sys.system().queueDelayedWork(new Timed(), null))
        .isInstanceOf(NullPointerException.class).hasMessage("delay");
    assertThatThrownBy(() -> sys.system().modDelayedWorkOn(9, new Timed(), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpu: 9");
    Timed dw = new Timed();
    assertThat(Workqueues.scheduleDelayedWork(dw, Duration.ofMillis(1))).isTrue();
    await("ran on the default system", () -> dw.runs.get() == 1);
  }

  /**
   * The {@code (long, TimeUnit)} overloads behave as the Duration ones: never early, zero and
   * negative delays queue at once, huge ones saturate instead of wrapping, mod re-arms.
   */
  @Test
  void delaysInTimeUnits() {
    Workqueue wq = sys.workqueue("units").build();
    Timed dw = new Timed();
    long t0 = System.nanoTime();
    assertThat(wq.queueDelayedWork(dw, 30, TimeUnit.MILLISECONDS)).isTrue();
    assertThat(dw.isTimerPending()).isTrue();
    assertThat(wq.queueDelayedWorkOn(1, dw, 1, TimeUnit.MILLISECONDS)).as("pending").isFalse();
    await("ran", () -> dw.runs.get() == 1);
    assertThat(ms(dw.lastRun.get() - t0)).isGreaterThanOrEqualTo(30);

    assertThat(wq.queueDelayedWorkOn(0, dw, -3, TimeUnit.SECONDS)).isTrue();
    assertThat(dw.isTimerPending()).as("no timer for a negative delay").isFalse();
    dw.flush();
    assertThat(dw.runs.get()).isEqualTo(2);

    assertThat(wq.queueDelayedWork(dw, Long.MAX_VALUE, TimeUnit.DAYS)).isTrue();
    assertThat(dw.timer.expires() - System.nanoTime()).as("saturated, not wrapped")
        .isGreaterThan(Duration.ofDays(365 * 70).toNanos());
    t0 = System.nanoTime();
    assertThat(wq.modDelayedWork(dw, 20_000, TimeUnit.MICROSECONDS)).as("was pending").isTrue();
    await("re-armed run", () -> dw.runs.get() == 3);
    assertThat(ms(dw.lastRun.get() - t0)).isGreaterThanOrEqualTo(20);
    assertThat(wq.modDelayedWorkOn(1, dw, 0, TimeUnit.HOURS)).as("was idle").isFalse();
    dw.flush();
    assertThat(dw.runs.get()).isEqualTo(4);

    assertThat(Workqueues.scheduleDelayedWork(dw, 1, TimeUnit.MILLISECONDS)).isTrue();
    await("ran on the default system", () -> dw.runs.get() == 5);
    assertThatThrownBy(() -> wq.queueDelayedWork(new Timed(), 1, null))
        .isInstanceOf(NullPointerException.class).hasMessage("unit");
    assertThatThrownBy(() -> wq.modDelayedWork(null, 1, TimeUnit.SECONDS))
        .isInstanceOf(NullPointerException.class).hasMessage("dwork");
    assertThatThrownBy(() -> wq.queueDelayedWorkOn(7, new Timed(), 1, TimeUnit.SECONDS))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpu: 7");
  }
}
