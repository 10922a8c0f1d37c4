package dev.cmwq;

import static dev.cmwq.TestSupport.LONG;
import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §6 and issue 6: {@link Workqueue#asExecutorService()} and
 * {@link Workqueue#asScheduledExecutorService()} keep the {@code java.util.concurrent}
 * contracts. Written from the JDK's specifications and the behaviours the JSR-166 TCK checks
 * (AbstractExecutorServiceTest, ThreadPoolExecutorTest, ScheduledExecutorTest,
 * ExecutorCompletionServiceTest); timing checks are lower bounds ("never early") or have
 * hundreds of milliseconds of slack.
 */
class ExecutorViewTest {
  private static final long SEC = TimeUnit.SECONDS.toMillis(LONG.toSeconds());
  private final WorkqueueSystem sys = TestSupport.newSystem();
  private final List<ExecutorService> views = new ArrayList<>();

  @AfterEach
  void tearDown() throws InterruptedException {
    for (ExecutorService v : views) {
      v.shutdownNow();
      assertThat(v.awaitTermination(SEC, TimeUnit.MILLISECONDS)).as(v + " terminates").isTrue();
    }
    TestSupport.closeAndCheck(sys);
  }

  private ScheduledExecutorService view(Workqueue wq) {
    ScheduledExecutorService v = wq.asScheduledExecutorService();
    views.add(v);
    return v;
  }

  /** An unbound workqueue with room for many tasks at once. */
  private ScheduledExecutorService wide() {
    return view(sys.workqueue("ev").unbound().maxActive(16).build());
  }

  /** One task at a time, in order: later tasks queue behind a blocked one. */
  private ScheduledExecutorService ordered() {
    return view(sys.workqueue("ev_ordered").ordered().build());
  }

  private static void sleepInterruptibly(CountDownLatch release) {
    try {
      release.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- arguments ----------------------------------------------------------------------------

  @Test
  void nullsAndBadArguments_areRejectedWithTheirNames() {
    ScheduledExecutorService es = wide();
    Runnable r = () -> { };
    assertThatThrownBy(() -> es.execute(null)).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("command");
    assertThatThrownBy(() -> es.submit((Runnable) null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> es.submit((Callable<?>) null))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> es.submit(null, 1)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> es.invokeAll(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> es.invokeAny(null)).isInstanceOf(NullPointerException.class);
    List<Callable<Integer>> withNull = new ArrayList<>();
    withNull.add(() -> 1);
    withNull.add(null);
    assertThatThrownBy(() -> es.invokeAll(withNull)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> es.invokeAny(withNull)).isInstanceOf(NullPointerException.class)
        .hasMessage("tasks[1]");
    assertThatThrownBy(() -> es.invokeAny(withNull, 1, TimeUnit.SECONDS))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> es.invokeAll(withNull, 1, TimeUnit.SECONDS))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> es.invokeAll(List.of(() -> 1), 1, null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("unit");
    assertThatThrownBy(() -> es.invokeAny(List.<Callable<Integer>>of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> es.schedule((Runnable) null, 1, TimeUnit.SECONDS))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("command");
    assertThatThrownBy(() -> es.schedule((Callable<?>) null, 1, TimeUnit.SECONDS))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("callable");
    assertThatThrownBy(() -> es.schedule(r, 1, null)).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("unit");
    assertThatThrownBy(() -> es.scheduleAtFixedRate(r, 1, 0, TimeUnit.SECONDS))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("period: 0");
    assertThatThrownBy(() -> es.scheduleWithFixedDelay(r, 1, -5, TimeUnit.SECONDS))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("delay: -5");
    assertThatThrownBy(() -> es.awaitTermination(1, null))
        .isInstanceOf(NullPointerException.class);
  }

  // ---- submit, invokeAll, invokeAny ---------------------------------------------------------

  @Test
  void submit_returnsResultsAndReportsExceptions() throws Exception {
    ExecutorService es = wide();
    assertThat(es.submit(() -> 42).get()).isEqualTo(42);
    assertThat(es.submit(() -> { }).get()).isNull();
    assertThat(es.submit(() -> { }, "value").get()).isEqualTo("value");
    Future<Object> failing = es.submit(() -> {
      throw new IOException("boom");
    });
    assertThatThrownBy(failing::get).isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(IOException.class).hasRootCauseMessage("boom");
    // Each task was a work item of the workqueue, running on its workers.
    Future<String> where = es.submit(() -> Thread.currentThread().getName()
        + (Work.current() instanceof ExecutorView.ViewWork ? " in a view item" : ""));
    assertThat(where.get()).startsWith("kworker/u").endsWith(" in a view item");
  }

  @Test
  void invokeAll_keepsTheListOrder_andEveryOutcome() throws Exception {
    ExecutorService es = wide();
    List<Callable<Integer>> tasks = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      int id = i;
      tasks.add(() -> {
        TestSupport.plainSleep((10 - id) * 3L); // later tasks finish first
        if (id == 4) {
          throw new IllegalStateException("task 4");
        }
        return id;
      });
    }
    List<Future<Integer>> futures = es.invokeAll(tasks);
    assertThat(futures).hasSize(10).allMatch(Future::isDone);
    for (int i = 0; i < 10; i++) {
      if (i == 4) {
        int index = i;
        assertThatThrownBy(() -> futures.get(index).get()).isInstanceOf(ExecutionException.class)
            .hasRootCauseMessage("task 4");
      } else {
        assertThat(futures.get(i).get()).isEqualTo(i);
      }
    }
  }

  @Test
  void invokeAll_timed_cancelsWhatDidNotFinish() throws Exception {
    ExecutorService es = wide();
    CountDownLatch never = new CountDownLatch(1);
    List<Callable<String>> tasks = List.of(() -> "quick", () -> {
      never.await();
      return "slow";
    });
    List<Future<String>> futures = es.invokeAll(tasks, 200, TimeUnit.MILLISECONDS);
    assertThat(futures.get(0).get()).isEqualTo("quick");
    assertThat(futures.get(1).isCancelled()).isTrue();
    assertThatThrownBy(() -> futures.get(1).get()).isInstanceOf(CancellationException.class);
  }

  @Test
  void invokeAny_returnsASuccess_evenWhenOthersFail() throws Exception {
    ExecutorService es = wide();
    List<Callable<Integer>> tasks = List.of(() -> {
      throw new IOException("a");
    }, () -> 7, () -> {
      throw new IOException("c");
    });
    assertThat(es.invokeAny(tasks)).isEqualTo(7);
    assertThat(es.invokeAny(tasks, 10, TimeUnit.SECONDS)).isEqualTo(7);
  }

  @Test
  void invokeAny_allFailing_throwsExecutionException_andTimedOneTimesOut() {
    ExecutorService es = wide();
    List<Callable<Integer>> failing = List.of(() -> {
      throw new IOException("a");
    }, () -> {
      throw new IOException("b");
    });
    assertThatThrownBy(() -> es.invokeAny(failing)).isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(IOException.class);
    CountDownLatch never = new CountDownLatch(1);
    List<Callable<Integer>> slow = List.of(() -> {
      never.await();
      return 1;
    });
    assertThatThrownBy(() -> es.invokeAny(slow, 100, TimeUnit.MILLISECONDS))
        .isInstanceOf(TimeoutException.class);
  }

  @Test
  void completionService_takesResultsInCompletionOrder() throws Exception {
    ExecutorService es = wide();
    ExecutorCompletionService<String> ecs = new ExecutorCompletionService<>(es);
    CountDownLatch release = new CountDownLatch(1);
    ecs.submit(() -> {
      release.await();
      return "slow";
    });
    ecs.submit(() -> "fast");
    assertThat(ecs.take().get()).isEqualTo("fast");
    assertThat(ecs.poll()).isNull();
    release.countDown();
    assertThat(ecs.poll(SEC, TimeUnit.MILLISECONDS).get()).isEqualTo("slow");
  }

  @Test
  void completableFuture_chainsRunOnTheWorkqueue() throws Exception {
    Workqueue wq = sys.workqueue("cf").unbound().build();
    ExecutorService es = view(wq);
    List<String> threads = new CopyOnWriteArrayList<>();
    CompletableFuture<Integer> result = CompletableFuture.supplyAsync(() -> {
      threads.add(Thread.currentThread().getName());
      return 20;
    }, wq).thenApplyAsync(x -> {
      threads.add(Thread.currentThread().getName());
      return x + 1;
    }, es).thenCombineAsync(CompletableFuture.supplyAsync(() -> 2, es), (a, b) -> {
      threads.add(Thread.currentThread().getName());
      return a * b;
    }, wq);
    assertThat(result.get(SEC, TimeUnit.MILLISECONDS)).isEqualTo(42);
    assertThat(threads).hasSize(3).allMatch(n -> n.startsWith("kworker/u"), "on kworkers");
    await("four items completed", () -> wq.stats().completed() >= 4);
  }

  @Test
  void getInsideAWorkItem_ofAnotherItemOnTheSamePool_doesNotDeadlock() throws Exception {
    // One CPU: both items go to the same per-CPU pool. The outer one blocks in Future.get; the
    // sampling tick sees its worker sleeping and wakes another for the inner item.
    try (WorkqueueSystem one = WorkqueueSystem.builder().cpus(1).build()) {
      ExecutorService es = one.workqueue("nested").build().asExecutorService();
      Future<Integer> outer = es.submit(() -> es.submit(() -> 41).get() + 1);
      assertThat(outer.get(SEC, TimeUnit.MILLISECONDS)).isEqualTo(42);
      es.shutdown();
      assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
    }
  }

  // ---- execute --------------------------------------------------------------------------------

  @Test
  void execute_failuresGoToTheWorkqueuesHandler_andStats() {
    List<Throwable> seen = new CopyOnWriteArrayList<>();
    Workqueue wq = sys.workqueue("ev_fail")
        .uncaughtExceptionHandler((q, w, e) -> seen.add(e)).build();
    ExecutorService es = view(wq);
    es.execute(() -> {
      throw new IllegalStateException("from execute");
    });
    await("handler called", () -> seen.size() == 1);
    assertThat(seen.get(0)).hasMessage("from execute");
    await("counted", () -> wq.stats().failed() == 1);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  @Test
  void shutdown_rejectsNewTasks_runsQueuedOnes_thenTerminates() throws Exception {
    ScheduledExecutorService es = ordered();
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger ran = new AtomicInteger();
    es.execute(() -> sleepInterruptibly(release));
    for (int i = 0; i < 5; i++) {
      es.execute(ran::incrementAndGet);
    }
    es.shutdown();
    assertThat(es.isShutdown()).isTrue();
    assertThat(es.isTerminated()).isFalse();
    assertThatThrownBy(() -> es.execute(() -> { })).isInstanceOf(RejectedExecutionException.class)
        .hasMessageContaining("shut down");
    assertThatThrownBy(() -> es.submit(() -> 1)).isInstanceOf(RejectedExecutionException.class);
    assertThatThrownBy(() -> es.schedule(() -> 1, 1, TimeUnit.MILLISECONDS))
        .isInstanceOf(RejectedExecutionException.class);
    assertThat(es.awaitTermination(50, TimeUnit.MILLISECONDS)).as("still blocked").isFalse();
    release.countDown();
    assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
    assertThat(es.isTerminated()).isTrue();
    assertThat(ran.get()).isEqualTo(5);
  }

  @Test
  void shutdownNow_returnsEveryTaskThatNeverStarted_andInterruptsTheRunningOne()
      throws Exception {
    ScheduledExecutorService es = ordered();
    CountDownLatch started = new CountDownLatch(1);
    AtomicBoolean interrupted = new AtomicBoolean();
    es.execute(() -> {
      started.countDown();
      try {
        new CountDownLatch(1).await();
      } catch (InterruptedException e) {
        interrupted.set(true);
      }
    });
    started.await();
    AtomicInteger ran = new AtomicInteger();
    List<Object> queued = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      queued.add(es.submit(ran::incrementAndGet));
    }
    Runnable plain = ran::incrementAndGet;
    es.execute(plain);
    queued.add(plain);
    queued.add(es.schedule(ran::incrementAndGet, 1, TimeUnit.HOURS));
    queued.add(es.scheduleAtFixedRate(ran::incrementAndGet, 1, 1, TimeUnit.HOURS));

    List<Runnable> neverStarted = es.shutdownNow();
    assertThat(neverStarted).containsExactlyInAnyOrderElementsOf(
        queued.stream().map(Runnable.class::cast).toList());
    assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
    assertThat(interrupted).isTrue();
    assertThat(ran.get()).as("none of the returned tasks ran").isZero();
    // As ThreadPoolExecutor does, the futures of removed tasks are left as they were.
    assertThat(((Future<?>) queued.get(0)).isDone()).isFalse();
  }

  @Test
  void shutdownNowInterruptsOnlyRunningTasks() throws Exception {
    Workqueue wq = sys.workqueue("ev_irq").ordered().build();
    ExecutorService other = view(wq);
    for (int round = 0; round < 50; round++) {
      // cancel(true): the interrupt is for the running task, never for the one after it.
      ExecutorService es = wq.asExecutorService();
      CountDownLatch started = new CountDownLatch(1);
      Future<?> victim = es.submit(() -> {
        started.countDown();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Thread.currentThread().isInterrupted() && System.nanoTime() < until) {
          Thread.onSpinWait();
        }
      });
      Future<Boolean> next = other.submit(() -> Thread.currentThread().isInterrupted());
      started.await();
      victim.cancel(true);
      assertThat(next.get(SEC, TimeUnit.MILLISECONDS)).as("round %d: cancel(true)", round)
          .isFalse();

      // shutdownNow of one view: the other view's next task runs uninterrupted.
      CountDownLatch started2 = new CountDownLatch(1);
      es.execute(() -> {
        started2.countDown();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Thread.currentThread().isInterrupted() && System.nanoTime() < until) {
          Thread.onSpinWait();
        }
      });
      Future<Boolean> next2 = other.submit(() -> Thread.currentThread().isInterrupted());
      started2.await();
      assertThat(es.shutdownNow()).isEmpty();
      assertThat(next2.get(SEC, TimeUnit.MILLISECONDS)).as("round %d: shutdownNow", round)
          .isFalse();
      assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
    }
  }

  @Test
  void viewOfASystemWorkqueue_shutsDownTheViewOnly() throws Exception {
    ExecutorService a = sys.system().asExecutorService();
    ExecutorService b = sys.system().asExecutorService();
    assertThat(a.submit(() -> 1).get()).isEqualTo(1);
    a.shutdown();
    assertThat(a.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
    assertThat(b.isShutdown()).isFalse();
    assertThat(b.submit(() -> 2).get()).isEqualTo(2);
    CountDownLatch ran = new CountDownLatch(1);
    assertThat(sys.system().queueWork(new Work(ran::countDown))).isTrue();
    assertThat(ran.await(SEC, TimeUnit.MILLISECONDS)).isTrue();
    b.shutdown();
    assertThat(b.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
  }

  @Test
  void futureCancel_takesThePendingItemOffTheWorkqueue() throws Exception {
    Workqueue wq = sys.workqueue("ev_cancel").ordered().build();
    ExecutorService es = view(wq);
    CountDownLatch release = new CountDownLatch(1);
    es.execute(() -> sleepInterruptibly(release));
    AtomicInteger ran = new AtomicInteger();
    Future<?> f = es.submit(ran::incrementAndGet);
    assertThat(f.cancel(false)).isTrue();
    assertThat(f.isCancelled()).isTrue();
    assertThat(f.cancel(false)).as("second cancel").isFalse();
    assertThatThrownBy(f::get).isInstanceOf(CancellationException.class);
    release.countDown();
    es.shutdown();
    assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
    wq.flush();
    assertThat(ran.get()).isZero();
    assertThat(wq.stats().started()).as("only the blocker started").isEqualTo(1);
  }

  @Test
  void futureCancelTrue_interruptsTheRunningTask() throws Exception {
    ExecutorService es = wide();
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch sawInterrupt = new CountDownLatch(1);
    Future<?> f = es.submit(() -> {
      started.countDown();
      try {
        new CountDownLatch(1).await();
      } catch (InterruptedException e) {
        sawInterrupt.countDown();
      }
    });
    started.await();
    assertThat(f.cancel(false)).isTrue(); // running: no interrupt, the future is cancelled
    assertThat(sawInterrupt.await(100, TimeUnit.MILLISECONDS)).isFalse();
    CountDownLatch started2 = new CountDownLatch(1);
    Future<?> g = es.submit(() -> {
      started2.countDown();
      try {
        new CountDownLatch(1).await();
      } catch (InterruptedException e) {
        sawInterrupt.countDown();
      }
    });
    started2.await();
    assertThat(g.cancel(true)).isTrue();
    assertThat(sawInterrupt.await(SEC, TimeUnit.MILLISECONDS)).isTrue();
    assertThat(g.isCancelled()).isTrue();
    f.cancel(true); // no effect on a cancelled future: the first task keeps waiting
    es.shutdownNow(); // ... until the view interrupts it
    assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
  }

  @Test
  void shutdownRacingSubmitters_everyAcceptedTaskRunsBeforeTermination() throws Exception {
    Workqueue wq = sys.workqueue("ev_race").unbound().maxActive(4).build();
    for (int round = 0; round < 30; round++) {
      ExecutorService es = wq.asExecutorService();
      AtomicInteger accepted = new AtomicInteger();
      AtomicInteger ran = new AtomicInteger();
      List<Thread> submitters = new ArrayList<>();
      for (int t = 0; t < 3; t++) {
        Thread th = new Thread(() -> {
          try {
            for (;;) {
              es.execute(ran::incrementAndGet);
              accepted.incrementAndGet();
            }
          } catch (RejectedExecutionException expected) {
            // shut down
          }
        });
        submitters.add(th);
        th.start();
      }
      await("some accepted", () -> accepted.get() > 100);
      es.shutdown();
      assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
      int ranAtTermination = ran.get();
      for (Thread th : submitters) {
        th.join();
      }
      assertThat(ranAtTermination).as("round %d: every accepted task ran before termination",
          round).isEqualTo(accepted.get());
    }
  }

  // ---- scheduling ---------------------------------------------------------------------------

  @Test
  void schedule_runsAfterTheDelay_neverEarly() throws Exception {
    ScheduledExecutorService es = wide();
    long t0 = System.nanoTime();
    ScheduledFuture<Long> f = es.schedule(System::nanoTime, 100, TimeUnit.MILLISECONDS);
    ScheduledFuture<?> later = es.schedule(() -> { }, 1, TimeUnit.HOURS);
    assertThat(f.getDelay(TimeUnit.MILLISECONDS)).isBetween(1L, 100L);
    assertThat(f.compareTo(later)).isNegative();
    assertThat(later.compareTo(f)).isPositive();
    assertThat(f.compareTo(f)).isZero();
    long ranAt = f.get(SEC, TimeUnit.MILLISECONDS);
    assertThat(TimeUnit.NANOSECONDS.toMillis(ranAt - t0)).isGreaterThanOrEqualTo(100);
    assertThat(f.getDelay(TimeUnit.NANOSECONDS)).isNegative();
    assertThat(later.cancel(false)).isTrue();
    // Zero and negative delays run at once.
    assertThat(es.schedule(() -> "now", 0, TimeUnit.SECONDS).get()).isEqualTo("now");
    assertThat(es.schedule(() -> "past", -5, TimeUnit.SECONDS).get()).isEqualTo("past");
  }

  @Test
  void scheduleAtFixedRate_followsTheScheduleNotTheRunTime_andNeverOverlaps() throws Exception {
    ScheduledExecutorService es = wide();
    long period = 100;
    long runTime = 60;
    List<Long> starts = new CopyOnWriteArrayList<>();
    AtomicBoolean running = new AtomicBoolean();
    AtomicBoolean overlapped = new AtomicBoolean();
    long t0 = System.nanoTime();
    ScheduledFuture<?> f = es.scheduleAtFixedRate(() -> {
      if (!running.compareAndSet(false, true)) {
        overlapped.set(true);
      }
      starts.add(System.nanoTime());
      TestSupport.plainSleep(runTime);
      running.set(false);
    }, 50, period, TimeUnit.MILLISECONDS);
    await("6 runs", () -> starts.size() >= 6);
    f.cancel(false);
    for (int n = 0; n < 6; n++) {
      long due = t0 + TimeUnit.MILLISECONDS.toNanos(50 + n * period);
      assertThat(starts.get(n)).as("run %d never early", n).isGreaterThanOrEqualTo(due);
    }
    long span = TimeUnit.NANOSECONDS.toMillis(starts.get(5) - starts.get(0));
    assertThat(span).as("5 periods, not 5 × (period + run time)")
        .isLessThan(5 * (period + runTime));
    assertThat(overlapped).isFalse();
    assertThat(f.isCancelled()).isTrue();
    assertThatThrownBy(f::get).isInstanceOf(CancellationException.class);
  }

  @Test
  void scheduleAtFixedRate_slowerThanThePeriod_runsBackToBack_withoutOverlap() throws Exception {
    ScheduledExecutorService es = wide();
    List<long[]> runs = new CopyOnWriteArrayList<>();
    ScheduledFuture<?> f = es.scheduleAtFixedRate(() -> {
      long s = System.nanoTime();
      TestSupport.plainSleep(30);
      runs.add(new long[] {s, System.nanoTime()});
    }, 0, 5, TimeUnit.MILLISECONDS);
    await("5 runs", () -> runs.size() >= 5);
    f.cancel(false);
    for (int i = 1; i < 5; i++) {
      assertThat(runs.get(i)[0]).as("run %d starts after run %d ended", i, i - 1)
          .isGreaterThanOrEqualTo(runs.get(i - 1)[1]);
    }
  }

  @Test
  void scheduleWithFixedDelay_waitsTheDelayAfterEachRun() throws Exception {
    ScheduledExecutorService es = wide();
    List<long[]> runs = new CopyOnWriteArrayList<>();
    ScheduledFuture<?> f = es.scheduleWithFixedDelay(() -> {
      long s = System.nanoTime();
      TestSupport.plainSleep(20);
      runs.add(new long[] {s, System.nanoTime()});
    }, 0, 40, TimeUnit.MILLISECONDS);
    await("5 runs", () -> runs.size() >= 5);
    f.cancel(false);
    for (int i = 1; i < 5; i++) {
      long gap = runs.get(i)[0] - runs.get(i - 1)[1];
      assertThat(TimeUnit.NANOSECONDS.toMillis(gap)).as("gap before run %d", i)
          .isGreaterThanOrEqualTo(40);
    }
  }

  @Test
  void periodicTask_cancelStopsIt_andAnExceptionEndsIt() throws Exception {
    ScheduledExecutorService es = wide();
    AtomicInteger runs = new AtomicInteger();
    ScheduledFuture<?> failing = es.scheduleAtFixedRate(() -> {
      if (runs.incrementAndGet() == 3) {
        throw new IllegalStateException("third run");
      }
    }, 0, 5, TimeUnit.MILLISECONDS);
    assertThatThrownBy(() -> failing.get(SEC, TimeUnit.MILLISECONDS))
        .isInstanceOf(ExecutionException.class).hasRootCauseMessage("third run");
    assertThat(failing.isDone()).isTrue();

    AtomicInteger ticks = new AtomicInteger();
    ScheduledFuture<?> ticking = es.scheduleWithFixedDelay(ticks::incrementAndGet, 0, 5,
        TimeUnit.MILLISECONDS);
    await("ticks", () -> ticks.get() >= 3);
    assertThat(ticking.cancel(true)).isTrue();
    int afterCancel = ticks.get();
    TestSupport.plainSleep(100); // a non-event: no run may follow
    assertThat(runs.get()).isEqualTo(3);
    assertThat(ticks.get()).isLessThanOrEqualTo(afterCancel + 1); // one may have been starting
    es.shutdown();
    assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
  }

  @Test
  void shutdown_cancelsPeriodicTasks_butDelayedOneShotsStillRun() throws Exception {
    ScheduledExecutorService es = wide();
    AtomicInteger periodicRuns = new AtomicInteger();
    ScheduledFuture<?> periodic = es.scheduleAtFixedRate(periodicRuns::incrementAndGet, 0, 10,
        TimeUnit.MILLISECONDS);
    ScheduledFuture<String> delayed = es.schedule(() -> "ran", 150, TimeUnit.MILLISECONDS);
    await("periodic ran", () -> periodicRuns.get() >= 1);
    es.shutdown();
    assertThat(periodic.isCancelled()).isTrue();
    assertThat(es.isTerminated()).isFalse();
    assertThat(delayed.get(SEC, TimeUnit.MILLISECONDS)).isEqualTo("ran");
    assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
  }

  @Test
  void destroyingTheWorkqueue_cancelsArmedTasks_soNothingWaitsForever() throws Exception {
    Workqueue wq = sys.workqueue("ev_destroy").build();
    ScheduledExecutorService es = wq.asScheduledExecutorService();
    ScheduledFuture<?> armed = es.schedule(() -> { }, 1, TimeUnit.HOURS);
    ScheduledFuture<?> periodic = es.scheduleAtFixedRate(() -> { }, 1, 1, TimeUnit.HOURS);
    wq.destroy();
    assertThat(armed.isCancelled()).isTrue();
    assertThat(periodic.isCancelled()).isTrue();
    assertThatThrownBy(() -> es.submit(() -> 1)).isInstanceOf(RejectedExecutionException.class);
    es.shutdown();
    assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
  }

  @Test
  void tasksSubmittedFromInsideTasks_areTrackedUntilTheyFinish() throws Exception {
    ExecutorService es = wide();
    List<Integer> order = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch inner = new CountDownLatch(1);
    es.execute(() -> {
      es.execute(() -> {
        sleepInterruptibly(inner);
        order.add(2);
      });
      order.add(1);
    });
    await("outer ran", () -> order.size() == 1);
    es.shutdown();
    assertThat(es.awaitTermination(50, TimeUnit.MILLISECONDS)).isFalse();
    inner.countDown();
    assertThat(es.awaitTermination(SEC, TimeUnit.MILLISECONDS)).isTrue();
    assertThat(order).containsExactly(1, 2);
  }
}
