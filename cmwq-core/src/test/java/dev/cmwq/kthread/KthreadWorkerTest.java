package dev.cmwq.kthread;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cmwq.TestSupport;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code kthread_worker} semantics (reference §7, SPEC §2.4). */
class KthreadWorkerTest {
  private final KthreadWorker worker = KthreadWorker.create("kthread_test");

  @AfterEach
  void tearDown() {
    worker.destroy();
  }

  static void await(CountDownLatch l) {
    try {
      assertThat(l.await(30, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void runsItemsInFifoOrderOnOneNamedThread() {
    List<Integer> order = Collections.synchronizedList(new ArrayList<>());
    List<String> threads = Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < 1000; i++) {
      int id = i;
      assertThat(worker.queueWork(new KthreadWork(() -> {
        order.add(id);
        threads.add(Thread.currentThread().getName());
      }))).isTrue();
    }
    worker.flush();
    assertThat(order).hasSize(1000).isSorted();
    assertThat(threads).containsOnly("kthread_test");
  }

  private static Thread threadNamed(String name) {
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals(name)) {
        return t;
      }
    }
    throw new AssertionError("no thread named " + name);
  }

  /**
   * The idle wait's parked half: once its spin is over the thread parks, and a queued item must
   * unpark it (exactly once). Fails by timing out if a queuer only flips the state of a parked
   * thread.
   */
  @Test
  void idleThread_parksAfterItsSpin_andOneUnparkWakesItPerItem() throws Exception {
    worker.queueWork(new KthreadWork(() -> { }));
    worker.flush();
    Thread t = threadNamed("kthread_test");
    for (int round = 0; round < 3; round++) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (t.getState() != Thread.State.WAITING) {
        assertThat(System.nanoTime()).as("thread parks once idle").isLessThan(deadline);
        Thread.sleep(1);
      }
      long before = worker.unparks();
      CountDownLatch ran = new CountDownLatch(1);
      worker.queueWork(new KthreadWork(ran::countDown));
      await(ran);
      assertThat(worker.unparks()).isEqualTo(before + 1);
    }
  }

  /**
   * An interrupt delivered to the parked thread (by code outside the worker) must not turn its
   * park into a busy loop, and items still run afterwards. Fails with the interrupt status left
   * set around the park: the thread then burns a CPU (here: most of the 300 ms waited).
   */
  @Test
  void interruptOfTheParkedThread_doesNotMakeItSpin() throws Exception {
    worker.queueWork(new KthreadWork(() -> { }));
    worker.flush();
    Thread t = threadNamed("kthread_test");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (t.getState() != Thread.State.WAITING) {
      assertThat(System.nanoTime()).as("thread parks once idle").isLessThan(deadline);
      Thread.sleep(1);
    }
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    long cpu0 = mx.getThreadCpuTime(t.getId());
    t.interrupt();
    Thread.sleep(300);
    long burnt = mx.getThreadCpuTime(t.getId()) - cpu0;
    assertThat(burnt).as("CPU ns used by the idle thread after an interrupt")
        .isLessThan(TimeUnit.MILLISECONDS.toNanos(50));
    CountDownLatch ran = new CountDownLatch(1);
    worker.queueWork(new KthreadWork(ran::countDown));
    await(ran);
  }

  /**
   * The idle wait's spinning half: an item queued while the idle thread polls costs no unpark.
   * The queuer waits (lightly, no assertion per poll) until it sees the thread polling, then
   * queues; the thread may give up between that look and the queueing (a loaded machine), hence
   * the loose bound. With the spin broken every such round costs an unpark, or no round ever
   * sees the thread polling.
   */
  @Test
  void itemQueuedWhileTheThreadSpins_costsNoUnpark() {
    AtomicInteger done = new AtomicInteger();
    KthreadWork item = new KthreadWork(done::incrementAndGet);
    int rounds = 5_000;
    int caught = 0;
    long unparksWhenCaught = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (int i = 1; i <= rounds; i++) {
      boolean spinning = false;
      for (long polls = 1; !spinning && polls < 100_000; polls++) {
        spinning = worker.isIdleSpinning();
        if (!spinning) {
          Thread.onSpinWait();
        }
      }
      long before = worker.unparks();
      assertThat(worker.queueWork(item)).isTrue();
      if (spinning) {
        caught++;
        unparksWhenCaught += worker.unparks() - before;
      }
      for (long polls = 1; done.get() < i; polls++) {
        Thread.onSpinWait();
        if ((polls & 0xFFFF) == 0 && System.nanoTime() > deadline) {
          throw new AssertionError("round " + i + " did not run within 60 s");
        }
      }
    }
    assertThat(caught).as("rounds that saw the thread polling").isGreaterThan(rounds / 10);
    assertThat(unparksWhenCaught).as("unparks in %d such rounds", caught)
        .isLessThan(caught / 2L);
  }

  /** An item embedded in its owner: the subclass's run() is what the worker executes. */
  @Test
  void subclassOverridingRun_isExecuted_andOneWithoutAFunctionIsRefused() {
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch ran = new CountDownLatch(1);
    KthreadWork embedded = new KthreadWork() {
      @Override
      protected void run() {
        runs.incrementAndGet();
        ran.countDown();
      }
    };
    assertThat(worker.queueWork(embedded)).isTrue();
    await(ran);
    worker.flush();
    assertThat(runs.get()).isEqualTo(1);
    KthreadWork bare = new KthreadWork() { };
    assertThatThrownBy(bare::run).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("must override run()");
  }

  @Test
  void queueWork_whilePending_returnsFalse() {
    CountDownLatch gate = new CountDownLatch(1);
    worker.queueWork(new KthreadWork(() -> await(gate)));
    AtomicInteger runs = new AtomicInteger();
    KthreadWork work = new KthreadWork(runs::incrementAndGet);
    assertThat(worker.queueWork(work)).isTrue();
    assertThat(work.isPending()).isTrue();
    assertThat(worker.queueWork(work)).isFalse();
    gate.countDown();
    worker.flush();
    assertThat(runs.get()).isEqualTo(1);
    assertThat(work.isPending()).isFalse();
  }

  @Test
  void anItemBelongsToOneWorkerForLife() {
    KthreadWork work = new KthreadWork(() -> { });
    worker.queueWork(work);
    worker.flush();
    try (KthreadWorker other = KthreadWorker.create("other")) {
      assertThatThrownBy(() -> other.queueWork(work))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("belongs to kthread worker kthread_test");
    }
  }

  @Test
  void flushWork_waitsForPendingOrRunning_andReportsIdle() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    AtomicBoolean done = new AtomicBoolean();
    KthreadWork work = new KthreadWork(() -> {
      started.countDown();
      await(gate);
      done.set(true);
    });
    assertThat(work.flush()).as("never queued").isFalse();
    worker.queueWork(work);
    await(started);
    Thread opener = new Thread(() -> {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      gate.countDown();
    });
    opener.start();
    assertThat(work.flush()).isTrue();
    assertThat(done.get()).isTrue();
    assertThat(work.flush()).as("idle").isFalse();
    opener.join();
  }

  @Test
  void cancelSync_ofSelfRequeueingItem_leavesItIdle() {
    AtomicInteger runs = new AtomicInteger();
    AtomicReference<KthreadWork> self = new AtomicReference<>();
    KthreadWork work = new KthreadWork(() -> {
      runs.incrementAndGet();
      worker.queueWork(self.get()); // refused once a cancel is in progress
    });
    self.set(work);
    worker.queueWork(work);
    while (runs.get() < 100) {
      Thread.onSpinWait();
    }
    work.cancelSync();
    int after = runs.get();
    assertThat(work.isPending()).isFalse();
    worker.flush();
    assertThat(runs.get()).isEqualTo(after);
    assertThat(worker.queueWork(work)).as("usable again").isTrue();
    work.cancelSync();
  }

  @Test
  void cancelSync_ofPendingItem_removesIt() {
    CountDownLatch gate = new CountDownLatch(1);
    worker.queueWork(new KthreadWork(() -> await(gate)));
    AtomicInteger runs = new AtomicInteger();
    KthreadWork work = new KthreadWork(runs::incrementAndGet);
    worker.queueWork(work);
    assertThat(work.cancelSync()).isTrue();
    assertThat(work.cancelSync()).isFalse();
    gate.countDown();
    worker.flush();
    assertThat(runs.get()).isZero();
  }

  @Test
  void selfDeadlocks_failFast() {
    AtomicReference<Throwable> flushWorker = new AtomicReference<>();
    AtomicReference<Throwable> flushSelf = new AtomicReference<>();
    AtomicReference<Throwable> cancelSelf = new AtomicReference<>();
    AtomicReference<KthreadWork> self = new AtomicReference<>();
    KthreadWork work = new KthreadWork(() -> {
      flushWorker.set(TestSupport.catching(worker::flush));
      flushSelf.set(TestSupport.catching(() -> self.get().flush()));
      cancelSelf.set(TestSupport.catching(() -> self.get().cancelSync()));
    });
    self.set(work);
    worker.queueWork(work);
    worker.flush();
    assertThat(flushWorker.get()).isInstanceOf(IllegalStateException.class);
    assertThat(flushSelf.get()).isInstanceOf(IllegalStateException.class);
    assertThat(cancelSelf.get()).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void exceptionsAreLoggedAndTheWorkerLivesOn() {
    AtomicInteger after = new AtomicInteger();
    worker.queueWork(new KthreadWork(() -> { throw new IllegalStateException("boom"); }));
    worker.queueWork(new KthreadWork(after::incrementAndGet));
    worker.flush();
    assertThat(after.get()).isEqualTo(1);
  }

  @Test
  void destroy_stopsTheThread_andRefusesLaterItems() throws Exception {
    KthreadWorker w = KthreadWorker.create("short_lived");
    AtomicInteger runs = new AtomicInteger();
    for (int i = 0; i < 10; i++) {
      w.queueWork(new KthreadWork(runs::incrementAndGet));
    }
    w.destroy();
    assertThat(runs.get()).as("destroy flushes first").isEqualTo(10);
    assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("short_lived"));
    assertThatThrownBy(() -> w.queueWork(new KthreadWork(() -> { })))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("destroyed");
    w.destroy(); // idempotent
  }

  @Test
  void destroy_refusesAnOwnedItem_andLeavesItIdle() {
    KthreadWorker w = KthreadWorker.create("short_lived_2");
    AtomicInteger runs = new AtomicInteger();
    KthreadWork work = new KthreadWork(runs::incrementAndGet);
    assertThat(w.queueWork(work)).isTrue(); // first queueing records the owner (locked)
    w.flush();
    assertThat(w.queueWork(work)).isTrue(); // owned now: claim and inbox push
    w.destroy();
    assertThat(runs.get()).as("destroy flushes first").isEqualTo(2);
    assertThatThrownBy(() -> w.queueWork(work))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("destroyed");
    assertThat(work.isPending()).as("the failed claim is undone").isFalse();
  }

  /**
   * The lock-free queueing path under fire: three threads queue the same 32 items (each already
   * owned by the worker, so every accepted queueing is a claim and an inbox push) while a
   * fourth cancels and flushes them. Every accepted queueing must end in exactly one run or one
   * successful cancel — a lost item, a double insertion or a cancel that missed an item being
   * pushed breaks the count. It caught the first version's race (a cancel that read the state
   * twice) in 2 of 3 runs, as a count off by one or a hang.
   */
  @Test
  void concurrentQueuersCancelsAndFlushes_loseNothingAndRunNothingTwice() throws Exception {
    int n = 32;
    AtomicInteger[] runs = new AtomicInteger[n];
    AtomicInteger[] accepted = new AtomicInteger[n];
    AtomicInteger[] cancelled = new AtomicInteger[n];
    KthreadWork[] items = new KthreadWork[n];
    for (int i = 0; i < n; i++) {
      runs[i] = new AtomicInteger();
      accepted[i] = new AtomicInteger();
      cancelled[i] = new AtomicInteger();
      AtomicInteger r = runs[i];
      items[i] = new KthreadWork(r::incrementAndGet);
      worker.queueWork(items[i]);
      accepted[i].incrementAndGet();
    }
    worker.flush();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (int q = 0; q < 3; q++) {
      int seed = q;
      threads.add(new Thread(() -> {
        int i = seed;
        while (!stop.get()) {
          i = (i + 7) % n;
          if (worker.queueWork(items[i])) {
            accepted[i].incrementAndGet();
          }
        }
      }, "queuer-" + q));
    }
    threads.add(new Thread(() -> {
      int i = 0;
      while (!stop.get()) {
        i = (i + 5) % n;
        if (items[i].cancelSync()) {
          cancelled[i].incrementAndGet();
        }
        if (i % 4 == 0) {
          items[(i + 1) % n].flush();
        }
      }
    }, "canceller"));
    for (Thread t : threads) {
      t.setUncaughtExceptionHandler((th, e) -> failure.set(e));
      t.start();
    }
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
    while (System.nanoTime() < end && failure.get() == null) {
      Thread.sleep(10);
    }
    stop.set(true);
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(30));
      assertThat(t.isAlive()).as(t.getName() + " finished").isFalse();
    }
    assertThat(failure.get()).isNull();
    worker.flush();
    long total = 0;
    for (int i = 0; i < n; i++) {
      assertThat(items[i].isPending()).as("item " + i + " pending after flush").isFalse();
      assertThat(runs[i].get() + cancelled[i].get()).as("item " + i + ": runs + cancels")
          .isEqualTo(accepted[i].get());
      total += accepted[i].get();
    }
    assertThat(total).as("queueings accepted").isGreaterThan(1000);
  }

  /** Items pushed by several threads at once keep each thread's own order. */
  @Test
  void concurrentQueuers_keepEachQueuersOrder() throws Exception {
    int perThread = 20_000;
    int nThreads = 3;
    int[] last = new int[nThreads];
    AtomicInteger violations = new AtomicInteger();
    KthreadWork[][] items = new KthreadWork[nThreads][perThread];
    for (int t = 0; t < nThreads; t++) {
      last[t] = -1;
      for (int i = 0; i < perThread; i++) {
        int tt = t;
        int seq = i;
        items[t][i] = new KthreadWork(() -> {
          if (last[tt] != seq - 1) { // only the worker's thread touches last[]
            violations.incrementAndGet();
          }
          last[tt] = seq;
        });
      }
    }
    List<Thread> threads = new ArrayList<>();
    CountDownLatch go = new CountDownLatch(1);
    for (int t = 0; t < nThreads; t++) {
      KthreadWork[] mine = items[t];
      threads.add(new Thread(() -> {
        await(go);
        for (KthreadWork w : mine) {
          worker.queueWork(w);
        }
      }));
    }
    threads.forEach(Thread::start);
    go.countDown();
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(30));
    }
    worker.flush();
    assertThat(violations.get()).isZero();
    assertThat(last).containsOnly(perThread - 1);
  }

  @Test
  void createOnCpu_validatesTheCpu() {
    assertThatThrownBy(() -> KthreadWorker.createOnCpu(-1, "x"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpu: -1");
    try (KthreadWorker w = KthreadWorker.createOnCpu(0, "on_cpu0")) {
      assertThat(w.cpu()).isZero();
      assertThat(w.name()).isEqualTo("on_cpu0");
    }
  }

  @Test
  void nullArgumentsAreRejected() {
    assertThatThrownBy(() -> new KthreadWork(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("fn");
    assertThatThrownBy(() -> worker.queueWork(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("work");
    assertThatThrownBy(() -> KthreadWorker.create(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("name");
  }
}
