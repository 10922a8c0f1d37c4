package dev.cmwq.kthread;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code kthread_delayed_work} (reference §7.3–7.5, SPEC §2.4). */
class KthreadDelayedWorkTest {
  private final KthreadWorker worker = KthreadWorker.create("kdw_test");

  @AfterEach
  void tearDown() {
    worker.destroy();
  }

  static void waitFor(String what, java.util.function.BooleanSupplier cond) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
  }

  static final class Counted extends KthreadDelayedWork {
    final AtomicInteger runs;
    final AtomicLong at;

    Counted(AtomicInteger runs, AtomicLong at) {
      super(() -> {
        at.set(System.nanoTime());
        runs.incrementAndGet();
      });
      this.runs = runs;
      this.at = at;
    }

    static Counted create() {
      return new Counted(new AtomicInteger(), new AtomicLong());
    }
  }

  @Test
  void queueDelayedWork_runsAfterTheDelay_onceWhilePending() {
    Counted dw = Counted.create();
    long t0 = System.nanoTime();
    assertThat(worker.queueDelayedWork(dw, Duration.ofMillis(40))).isTrue();
    assertThat(dw.isPending()).isTrue();
    assertThat(worker.queueDelayedWork(dw, Duration.ofMillis(1))).isFalse();
    assertThat(worker.queueWork(dw)).as("armed items cannot be queued").isFalse();
    waitFor("run", () -> dw.runs.get() == 1);
    assertThat(dw.at.get() - t0).isGreaterThanOrEqualTo(Duration.ofMillis(40).toNanos());
    assertThat(dw.isPending()).isFalse();
    assertThat(worker.queueDelayedWork(dw, Duration.ZERO)).isTrue();
    worker.flush();
    assertThat(dw.runs.get()).isEqualTo(2);
  }

  @Test
  void modDelayedWork_reArmsPendingAndReportsIdle() {
    Counted dw = Counted.create();
    assertThat(worker.modDelayedWork(dw, Duration.ofSeconds(60))).as("never queued").isFalse();
    long t0 = System.nanoTime();
    assertThat(worker.modDelayedWork(dw, Duration.ofMillis(30))).as("was armed").isTrue();
    waitFor("run", () -> dw.runs.get() == 1);
    assertThat(dw.at.get() - t0).isGreaterThanOrEqualTo(Duration.ofMillis(30).toNanos());
    worker.flush();
    assertThat(dw.runs.get()).as("the 60 s arming was replaced, not added").isEqualTo(1);
    assertThat(worker.modDelayedWork(dw, Duration.ofMillis(1))).as("was idle").isFalse();
    waitFor("second run", () -> dw.runs.get() == 2);
  }

  @Test
  void delaysInTimeUnits() {
    Counted dw = Counted.create();
    long t0 = System.nanoTime();
    assertThat(worker.queueDelayedWork(dw, 30, TimeUnit.MILLISECONDS)).isTrue();
    assertThat(worker.queueDelayedWork(dw, 1, TimeUnit.MILLISECONDS)).as("pending").isFalse();
    waitFor("run", () -> dw.runs.get() == 1);
    assertThat(dw.at.get() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(30));
    assertThat(worker.modDelayedWork(dw, Long.MAX_VALUE, TimeUnit.DAYS)).as("was idle").isFalse();
    assertThat(dw.isPending()).as("saturated, not wrapped into the past").isTrue();
    t0 = System.nanoTime();
    assertThat(worker.modDelayedWork(dw, 20_000, TimeUnit.MICROSECONDS)).as("was armed").isTrue();
    waitFor("re-armed run", () -> dw.runs.get() == 2);
    assertThat(dw.at.get() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(20));
    assertThat(worker.queueDelayedWork(dw, -1, TimeUnit.SECONDS)).isTrue();
    worker.flush();
    assertThat(dw.runs.get()).as("a negative delay queues at once").isEqualTo(3);
    assertThatThrownBy(() -> worker.queueDelayedWork(dw, 1, null))
        .isInstanceOf(NullPointerException.class).hasMessage("unit");
    assertThatThrownBy(() -> worker.modDelayedWork(null, 1, TimeUnit.SECONDS))
        .isInstanceOf(NullPointerException.class).hasMessage("dwork");
  }

  @Test
  void modOfAQueuedItem_delaysItAgain() {
    CountDownLatch gate = new CountDownLatch(1);
    worker.queueWork(new KthreadWork(() -> {
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    Counted dw = Counted.create();
    worker.queueDelayedWork(dw, Duration.ZERO); // queued behind the gate
    assertThat(worker.modDelayedWork(dw, Duration.ofMillis(80))).isTrue();
    long t0 = System.nanoTime();
    gate.countDown();
    worker.flush();
    assertThat(dw.runs.get()).isZero();
    waitFor("run after the new delay", () -> dw.runs.get() == 1);
    assertThat(dw.at.get() - t0).isGreaterThanOrEqualTo(Duration.ofMillis(60).toNanos());
  }

  @Test
  void cancelSync_disarmsTheTimer() {
    Counted dw = Counted.create();
    worker.queueDelayedWork(dw, Duration.ofMillis(30));
    assertThat(dw.cancelSync()).isTrue();
    assertThat(dw.isPending()).isFalse();
    assertThat(dw.cancelSync()).isFalse();
    try {
      Thread.sleep(80);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    assertThat(dw.runs.get()).isZero();
  }

  @Test
  void cancelSync_ofASelfReArmingDelayedItem() {
    AtomicInteger runs = new AtomicInteger();
    KthreadDelayedWork[] self = new KthreadDelayedWork[1];
    self[0] = new KthreadDelayedWork(() -> {
      runs.incrementAndGet();
      worker.queueDelayedWork(self[0], Duration.ofMillis(1));
    });
    worker.queueDelayedWork(self[0], Duration.ofMillis(1));
    waitFor("several runs", () -> runs.get() >= 10);
    self[0].cancelSync();
    int after = runs.get();
    assertThat(self[0].isPending()).isFalse();
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    assertThat(runs.get()).isEqualTo(after);
  }

  @Test
  void flushOfAnArmedItem_waitsForTheTimerAndTheRun() throws Exception {
    Counted dw = Counted.create();
    worker.queueDelayedWork(dw, Duration.ofMillis(50));
    long t0 = System.nanoTime();
    assertThat(dw.flush()).isTrue();
    assertThat(dw.runs.get()).as("ran before flush returned").isEqualTo(1);
    assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(Duration.ofMillis(40).toNanos());
  }

  @Test
  void flushOfAnArmedItem_returnsIfTheItemIsCancelled() throws Exception {
    Counted dw = Counted.create();
    worker.queueDelayedWork(dw, Duration.ofSeconds(60));
    AtomicBoolean flushed = new AtomicBoolean();
    Thread flusher = new Thread(() -> flushed.set(dw.flush()));
    flusher.start();
    waitFor("flusher waiting", () -> flusher.getState() == Thread.State.WAITING);
    dw.cancelSync();
    flusher.join(30_000);
    assertThat(flusher.isAlive()).isFalse();
    assertThat(flushed.get()).isTrue();
    assertThat(dw.runs.get()).isZero();
  }

  @Test
  void destroyWithArmedItems_isRefusedClearly() {
    KthreadWorker w = KthreadWorker.create("armed");
    Counted dw = Counted.create();
    w.queueDelayedWork(dw, Duration.ofSeconds(60));
    assertThatThrownBy(w::destroy).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("1 armed delayed item(s)");
    dw.cancelSync();
    w.destroy();
    assertThatThrownBy(() -> w.queueDelayedWork(dw, Duration.ofMillis(1)))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void nullsAndOwnership() {
    assertThatThrownBy(() -> worker.queueDelayedWork(null, Duration.ZERO))
        .isInstanceOf(NullPointerException.class).hasMessage("dwork");
    assertThatThrownBy(() -> worker.modDelayedWork(Counted.create(), null))
        .isInstanceOf(NullPointerException.class).hasMessage("delay");
    Counted dw = Counted.create();
    worker.queueDelayedWork(dw, Duration.ZERO);
    worker.flush();
    try (KthreadWorker other = KthreadWorker.create("other")) {
      assertThatThrownBy(() -> other.queueDelayedWork(dw, Duration.ofMillis(1)))
          .isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> other.modDelayedWork(dw, Duration.ofMillis(1)))
          .isInstanceOf(IllegalStateException.class);
    }
  }
}
