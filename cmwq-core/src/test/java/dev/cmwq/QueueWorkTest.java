package dev.cmwq;

import static dev.cmwq.TestSupport.LONG;
import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** SPEC §3 item 1: PENDING coalescing and the no-lost-wake-up guarantee; basic queueing. */
class QueueWorkTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    TestSupport.closeAndCheck(sys);
  }

  @Test
  void queueWork_runsTheFunctionOnAKworker() throws Exception {
    Workqueue wq = sys.workqueue("test").build();
    AtomicReference<String> thread = new AtomicReference<>();
    AtomicReference<Work> current = new AtomicReference<>();
    CountDownLatch ran = new CountDownLatch(1);
    Work work = new Work(w -> {
      thread.set(Thread.currentThread().getName());
      current.set(Work.current());
      ran.countDown();
    });
    assertThat(wq.queueWork(work)).isTrue();
    assertThat(ran.await(LONG.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertThat(thread.get()).matches("kworker/[01]:\\d+");
    assertThat(current.get()).isSameAs(work);
    assertThat(Work.current()).isNull();
  }

  /** A function that is both a Runnable and a WorkFunction. */
  static final class Both implements Runnable, WorkFunction {
    final List<String> calls = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public void run() {
      calls.add("run()");
    }

    @Override
    public void run(Work work) {
      calls.add("run(work)");
    }
  }

  /**
   * An item keeps its function without a wrapper, and remembers which constructor it came
   * from: a Runnable is run as a Runnable even if it is also a WorkFunction, and dumps name the
   * user's class.
   */
  @Test
  void theConstructorUsed_decidesHowTheFunctionIsCalled() throws Exception {
    Workqueue wq = sys.workqueue("test").build();
    Both both = new Both();
    Work asRunnable = new Work((Runnable) both);
    Work asFunction = new Work((WorkFunction) both);
    wq.queueWork(asRunnable);
    asRunnable.flush();
    wq.queueWork(asFunction);
    asFunction.flush();
    assertThat(both.calls).containsExactly("run()", "run(work)");
    assertThat(asRunnable.toString()).startsWith("QueueWorkTest$Both@");
    assertThat(asRunnable.functionClass()).isEqualTo(Both.class);
  }

  @Test
  void queueWork_whilePending_returnsFalseAndCoalesces() throws Exception {
    Workqueue wq = sys.workqueue("test").build();
    CountDownLatch gate = new CountDownLatch(1);
    AtomicInteger runs = new AtomicInteger();
    Work blocker = new Work(() -> awaitQuietly(gate));
    Work work = new Work(runs::incrementAndGet);
    // Occupy the pool's only runnable slot... on both CPUs, so that `work` stays pending.
    Workqueue ordered = sys.workqueue("ordered").ordered().build();
    ordered.queueWork(blocker);
    assertThat(ordered.queueWork(work)).isTrue();
    assertThat(work.isPending()).isTrue();
    for (int i = 0; i < 100; i++) {
      assertThat(ordered.queueWork(work)).isFalse();
    }
    assertThat(work.busy()).isEqualTo(Work.BUSY_PENDING);
    gate.countDown();
    ordered.flush();
    assertThat(runs.get()).isEqualTo(1);
    assertThat(work.isPending()).isFalse();
    assertThat(work.busy()).isZero();
    assertThat(wq.queueWork(work)).isTrue();
    wq.flush();
    assertThat(runs.get()).isEqualTo(2);
  }

  /**
   * The kernel's real guarantee: a false return still means an execution that starts after the
   * call and sees what the caller wrote before it. A single producer writes a plain field then
   * queues; the last value written must be the last value seen.
   */
  @Test
  void falseReturnStillRunsAfterTheCall() {
    Workqueue wq = sys.workqueue("test").build();
    long[] target = new long[1]; // plain, deliberately: the engine's fences must publish it
    AtomicInteger runs = new AtomicInteger();
    long[] lastSeen = new long[1];
    Work work = new Work(() -> {
      lastSeen[0] = target[0];
      runs.incrementAndGet();
    });
    int falses = 0;
    for (int round = 0; round < 20; round++) {
      for (int i = 1; i <= 20_000; i++) {
        target[0] = round * 100_000L + i;
        if (!wq.queueWork(work)) {
          falses++;
        }
      }
      work.flush();
      assertThat(lastSeen[0]).as("round " + round).isEqualTo(round * 100_000L + 20_000);
    }
    assertThat(falses).as("coalesced calls").isPositive();
    assertThat(runs.get()).isLessThan(20 * 20_000);
  }

  /** Many producers hammer one item: every producer's last write is observed. */
  @Test
  void noLostWakeupUnderConcurrentQueueing() throws Exception {
    Workqueue wq = sys.workqueue("test").unbound().build();
    AtomicInteger[] written = new AtomicInteger[4];
    int[] seen = new int[4];
    for (int i = 0; i < written.length; i++) {
      written[i] = new AtomicInteger();
    }
    Work work = new Work(() -> {
      for (int i = 0; i < written.length; i++) {
        seen[i] = written[i].get();
      }
    });
    List<Thread> producers = new ArrayList<>();
    for (int p = 0; p < written.length; p++) {
      int id = p;
      producers.add(new Thread(() -> {
        for (int i = 1; i <= 50_000; i++) {
          written[id].set(i);
          wq.queueWorkOn(i % 2, work);
        }
      }));
    }
    producers.forEach(Thread::start);
    for (Thread t : producers) {
      t.join();
    }
    work.flush();
    for (int i = 0; i < written.length; i++) {
      assertThat(seen[i]).isEqualTo(50_000);
    }
  }

  @Test
  void queueWorkOn_unboundAndPerCpu_runOnTheRightPools() throws Exception {
    Workqueue percpu = sys.workqueue("percpu").build();
    Workqueue hi = sys.workqueue("hi").highPri().build();
    Workqueue unbound = sys.workqueue("unbound").unbound().build();
    AtomicReference<String> name = new AtomicReference<>();
    Work work = new Work(() -> name.set(Thread.currentThread().getName()));
    for (int cpu = 0; cpu < 2; cpu++) {
      percpu.queueWorkOn(cpu, work);
      work.flush();
      assertThat(name.get()).startsWith("kworker/" + cpu + ":").doesNotEndWith("H");
      hi.queueWorkOn(cpu, work);
      work.flush();
      assertThat(name.get()).startsWith("kworker/" + cpu + ":").endsWith("H");
      unbound.queueWorkOn(cpu, work);
      work.flush();
      assertThat(name.get()).startsWith("kworker/u");
    }
  }

  @Test
  void queueWorkNode_picksACpuOfTheNode() throws Exception {
    try (WorkqueueSystem numa = WorkqueueSystem.builder().topology(Topology.of(4, 1, 1, 2)).build()) {
      Workqueue wq = numa.workqueue("numa").unbound().build();
      AtomicInteger runs = new AtomicInteger();
      Work work = new Work(runs::incrementAndGet);
      assertThat(wq.queueWorkNode(1, work)).isTrue();
      work.flush();
      assertThat(wq.queueWorkNode(-1, work)).isTrue();
      work.flush();
      assertThat(runs.get()).isEqualTo(2);
      assertThat(wq.stats().started()).isEqualTo(2);
    }
  }

  @Test
  void execute_runsEachTaskOnce() {
    Workqueue wq = sys.workqueue("exec").build();
    AtomicInteger runs = new AtomicInteger();
    for (int i = 0; i < 1000; i++) {
      wq.execute(runs::incrementAndGet);
    }
    wq.flush();
    assertThat(runs.get()).isEqualTo(1000);
    assertThat(wq.stats().completed()).isEqualTo(1000);
  }

  @Test
  void functionMayRequeueAndDropItsOwnItem() {
    Workqueue wq = sys.workqueue("requeue").build();
    AtomicInteger runs = new AtomicInteger();
    Work work = new Work(w -> {
      if (runs.incrementAndGet() < 100) {
        wq.queueWork(w);
      }
    });
    wq.queueWork(work);
    await("100 self-requeued runs", () -> runs.get() == 100);
    wq.flush();
    assertThat(runs.get()).isEqualTo(100);
  }

  @Test
  void exceptionsAreCountedHandledAndTheWorkerSurvives() {
    List<Throwable> seen = new ArrayList<>();
    Workqueue wq = sys.workqueue("throws").uncaughtExceptionHandler((q, w, e) -> {
      synchronized (seen) {
        seen.add(e);
      }
    }).build();
    Workqueue ordered = sys.workqueue("throws_ordered").ordered()
        .uncaughtExceptionHandler((q, w, e) -> { throw new IllegalStateException("handler"); })
        .build();
    AtomicInteger after = new AtomicInteger();
    for (int i = 0; i < 10; i++) {
      wq.queueWork(new Work(() -> { throw new IllegalArgumentException("boom"); }));
      ordered.queueWork(new Work(() -> { throw new AssertionError("error too"); }));
    }
    wq.queueWork(new Work(after::incrementAndGet));
    ordered.queueWork(new Work(after::incrementAndGet));
    wq.flush();
    ordered.flush();
    assertThat(after.get()).isEqualTo(2);
    synchronized (seen) {
      assertThat(seen).hasSize(10).allMatch(e -> e instanceof IllegalArgumentException);
    }
    assertThat(wq.stats().failed()).isEqualTo(10);
    assertThat(wq.stats().completed()).isEqualTo(11);
    assertThat(ordered.stats().failed()).isEqualTo(10);
  }

  @Test
  void interruptsDoNotLeakIntoLaterItems() {
    Workqueue wq = sys.workqueue("interrupt").ordered().build();
    AtomicInteger interruptedLater = new AtomicInteger();
    wq.queueWork(new Work(() -> Thread.currentThread().interrupt()));
    wq.queueWork(new Work(() -> {
      if (Thread.currentThread().isInterrupted()) {
        interruptedLater.incrementAndGet();
      }
    }));
    wq.flush();
    assertThat(interruptedLater.get()).isZero();
  }

  static void awaitQuietly(CountDownLatch latch) {
    try {
      if (!latch.await(LONG.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("gate never opened");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
