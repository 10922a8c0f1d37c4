package dev.cmwq;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RunnableScheduledFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code java.util.concurrent} face of a workqueue ({@link Workqueue#asExecutorService()},
 * {@link Workqueue#asScheduledExecutorService()}). Every accepted task is its own work item
 * ({@link ViewWork}, a {@link DelayedWork}), so tasks get the workqueue's guarantees: its pools,
 * max_active, ordering, concurrency management and statistics.
 *
 * <h2>Lifecycle</h2>
 * A view is a lifecycle scope over the workqueue, not the workqueue itself: {@link #shutdown()}
 * stops this view accepting tasks and it terminates when the tasks it accepted have finished;
 * the workqueue (a system workqueue in particular) lives on and other views and callers keep
 * using it. Destroying the workqueue makes the view reject new tasks; delayed tasks whose timers
 * the destroy disarmed are cancelled, so their futures never hang.
 *
 * <h2>Semantics as {@code ScheduledThreadPoolExecutor} with its default policies</h2>
 * <ul>
 *   <li>after {@code shutdown()}: queued and delayed one-shot tasks still run, periodic tasks
 *       are cancelled, new tasks are rejected with {@link RejectedExecutionException};</li>
 *   <li>{@code shutdownNow()}: every task not yet started is taken off the workqueue (timers
 *       disarmed) and returned, its future left as it was; then running tasks are interrupted.
 *       A task a worker took just as the call began still runs, with its interrupt status set,
 *       as one a {@code ThreadPoolExecutor} worker had already dequeued does;</li>
 *   <li>{@code Future.cancel(false)} takes a pending task off the workqueue at once (the kernel's
 *       {@code cancel_work}); {@code cancel(true)} also interrupts a running task;</li>
 *   <li>fixed-rate runs are due at {@code initialDelay + n * period}, fixed-delay runs at the end
 *       of the previous run plus the delay; runs never overlap (the item is non-reentrant); an
 *       exception ends a periodic task and {@code get()} reports it;</li>
 *   <li>a task submitted with {@code execute} that throws goes to the workqueue's exception
 *       handler and {@link WorkqueueStats#failed()}, as a plain work item does.</li>
 * </ul>
 * Interrupts reach only the task they were meant for: the runner is recorded under the item's
 * monitor, and the interrupt status is cleared when the task ends (checked by
 * {@code ExecutorViewTest.shutdownNowInterruptsOnlyRunningTasks}).
 */
final class ExecutorView extends AbstractExecutorService implements ScheduledExecutorService {
  private static final int RUNNING = 0;
  private static final int SHUTDOWN = 1;
  private static final int STOP = 2;

  /** I: the workqueue every task is queued on. */
  final Workqueue wq;
  /** V: RUNNING, then SHUTDOWN, then STOP; never goes back. */
  private volatile int runState = RUNNING;
  /** V: accepted tasks not yet finished: queued, armed, running, or between periodic runs. */
  private final Set<ViewWork> live = ConcurrentHashMap.newKeySet();
  /**
   * V: the size of {@link #live}, the termination test. Accepting increments it before reading
   * {@link #runState}; shutting down writes the state before reading it. Both are volatile, so
   * one side always sees the other: a task is either rejected or waited for
   * ({@code ExecutorViewTest.shutdownRacingSubmitters_everyAcceptedTaskRunsBeforeTermination}).
   */
  private final AtomicInteger nrLive = new AtomicInteger();
  /** V: opened once the view is shut down and nothing is live. */
  private final CountDownLatch terminated = new CountDownLatch(1);

  ExecutorView(Workqueue wq) {
    this.wq = wq;
  }

  // ---- submission -------------------------------------------------------------------------

  @Override
  public void execute(Runnable command) {
    Checks.notNull(command, "command");
    if (command instanceof Task && ((Task<?>) command).work.view == this
        && !((Task<?>) command).submitted) {
      Task<?> task = (Task<?>) command;
      task.submitted = true;
      start(task.work, 0);
    } else {
      start(new ViewWork(this, command, null), 0);
    }
  }

  @Override
  protected <T> Task<T> newTaskFor(Runnable runnable, T value) {
    return new Task<>(this, runnable, value, System.nanoTime(), 0);
  }

  @Override
  protected <T> Task<T> newTaskFor(Callable<T> callable) {
    return new Task<>(this, callable, System.nanoTime(), 0);
  }

  // The JDK's invokeAll/invokeAny find a null task only when they reach it, and invokeAny may
  // return before that; the contract says any null element is a NullPointerException.

  @Override
  public <T> T invokeAny(Collection<? extends Callable<T>> tasks)
      throws InterruptedException, ExecutionException {
    return super.invokeAny(noNulls(tasks));
  }

  @Override
  public <T> T invokeAny(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
      throws InterruptedException, ExecutionException, TimeoutException {
    Checks.notNull(unit, "unit");
    return super.invokeAny(noNulls(tasks), timeout, unit);
  }

  @Override
  public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks)
      throws InterruptedException {
    return super.invokeAll(noNulls(tasks));
  }

  @Override
  public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks, long timeout,
      TimeUnit unit) throws InterruptedException {
    Checks.notNull(unit, "unit");
    return super.invokeAll(noNulls(tasks), timeout, unit);
  }

  private static <C extends Collection<?>> C noNulls(C tasks) {
    Checks.notNull(tasks, "tasks");
    int i = 0;
    for (Object t : tasks) {
      if (t == null) {
        throw new NullPointerException("tasks[" + i + "]");
      }
      i++;
    }
    return tasks;
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    Checks.notNull(command, "command");
    long nanos = toNanos(delay, unit);
    Task<Void> task = new Task<>(this, command, null, deadline(nanos), 0);
    return scheduled(task, nanos);
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    Checks.notNull(callable, "callable");
    long nanos = toNanos(delay, unit);
    return scheduled(new Task<>(this, callable, deadline(nanos), 0), nanos);
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay,
      long period, TimeUnit unit) {
    return periodic(command, initialDelay, period, unit, "period", true);
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay,
      long delay, TimeUnit unit) {
    return periodic(command, initialDelay, delay, unit, "delay", false);
  }

  private ScheduledFuture<?> periodic(Runnable command, long initialDelay, long period,
      TimeUnit unit, String name, boolean fixedRate) {
    Checks.notNull(command, "command");
    long first = toNanos(initialDelay, unit);
    if (period <= 0) {
      throw new IllegalArgumentException(name + ": " + period + " (expected: > 0)");
    }
    long p = Math.max(1, unit.toNanos(period));
    Task<Void> task = new Task<>(this, command, null, deadline(first), fixedRate ? p : -p);
    return scheduled(task, first);
  }

  private <V> Task<V> scheduled(Task<V> task, long nanos) {
    task.submitted = true;
    start(task.work, Math.max(0, nanos));
    return task;
  }

  private static long toNanos(long delay, TimeUnit unit) {
    return Checks.notNull(unit, "unit").toNanos(delay); // saturates
  }

  private static long deadline(long nanos) {
    long now = System.nanoTime();
    long t = now + nanos;
    return (nanos > 0 && t < now) ? Long.MAX_VALUE : t; // saturate far deadlines
  }

  /** Accepts {@code w} or rejects it, then queues it now or after {@code nanos}. */
  private void start(ViewWork w, long nanos) {
    nrLive.incrementAndGet();
    live.add(w);
    if (runState != RUNNING) {
      untrack(w);
      throw new RejectedExecutionException("executor view of workqueue " + wq.name()
          + " is shut down: " + w.task);
    }
    try {
      if (nanos == 0) {
        wq.queueWork(w);
      } else {
        wq.queueDelayedWork(w, Duration.ofNanos(nanos));
      }
    } catch (RuntimeException e) {
      untrack(w);
      throw e;
    }
  }

  /** Forgets a finished, cancelled or removed task; the last one may end the view. */
  void untrack(ViewWork w) {
    if (live.remove(w) && nrLive.decrementAndGet() == 0 && runState != RUNNING) {
      terminated.countDown();
    }
  }

  // ---- lifecycle --------------------------------------------------------------------------

  @Override
  public void shutdown() {
    advance(SHUTDOWN);
    // The default policy of ScheduledThreadPoolExecutor: periodic tasks stop at shutdown.
    for (ViewWork w : live) {
      if (w.future != null && w.future.isPeriodic()) {
        w.future.cancel(false);
      }
    }
    if (nrLive.get() == 0) {
      terminated.countDown();
    }
  }

  @Override
  public List<Runnable> shutdownNow() {
    advance(STOP);
    // Take every pending task off first, then interrupt: an interrupted task that ends at once
    // must not let the next queued one start before it was taken off.
    List<Runnable> neverStarted = new ArrayList<>();
    for (ViewWork w : live) {
      if (w.cancel()) { // taken off the worklist or its timer: it will not run (again)
        neverStarted.add(w.future != null ? w.future : w.task);
        untrack(w);
      }
    }
    for (ViewWork w : live) {
      w.interruptIfRunning();
    }
    if (nrLive.get() == 0) {
      terminated.countDown();
    }
    return neverStarted;
  }

  private void advance(int state) {
    if (runState < state) {
      runState = state;
    }
  }

  @Override
  public boolean isShutdown() {
    return runState != RUNNING;
  }

  @Override
  public boolean isTerminated() {
    return terminated.getCount() == 0;
  }

  /**
   * Waits for termination; inside a work item the wait is concurrency-managed (the pool may
   * start another worker meanwhile).
   */
  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    long deadline = deadline(Math.max(0, Checks.notNull(unit, "unit").toNanos(timeout)));
    boolean[] done = {isTerminated()};
    if (!done[0]) {
      Workqueues.managedBlock(new ForkJoinPool.ManagedBlocker() {
        @Override
        public boolean block() throws InterruptedException {
          done[0] = terminated.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
          return true;
        }

        @Override
        public boolean isReleasable() {
          return isTerminated() || deadline - System.nanoTime() <= 0;
        }
      });
    }
    return isTerminated();
  }

  @Override
  public String toString() {
    return "ExecutorView[" + wq.name() + ", "
        + (isTerminated() ? "terminated" : runState == RUNNING ? "running" : "shutting down")
        + ", " + nrLive.get() + " live]";
  }

  // ---- the work item ----------------------------------------------------------------------

  /** Runs a {@link ViewWork}'s task (the function shared by every view item). */
  private static final WorkFunction FIRE = w -> ((ViewWork) w).fire();

  /**
   * One accepted task as a work item. Delayed tasks use the embedded timer; periodic tasks
   * re-arm their own item from inside its run, as a self-requeueing kernel work item does.
   */
  static final class ViewWork extends DelayedWork {
    /** I: the view that accepted the task. */
    final ExecutorView view;
    /** I: what runs: the user's Runnable, or {@link #future}. */
    final Runnable task;
    /** I: the future, null for tasks given to {@code execute}. */
    final Task<?> future;
    /** M: the thread running the task, null when not running (interrupt target). */
    private Thread runner;

    ViewWork(ExecutorView view, Runnable task, Task<?> future) {
      super(FIRE);
      this.view = view;
      this.task = task;
      this.future = future;
    }

    void fire() {
      synchronized (this) {
        runner = Thread.currentThread();
      }
      if (view.runState == STOP) {
        Thread.currentThread().interrupt(); // started as shutdownNow looked: as the JDK does
      }
      try {
        task.run();
      } finally {
        synchronized (this) {
          runner = null;
        }
        Thread.interrupted(); // an interrupt meant for this task ends with it
        if (future == null || future.isDone()) {
          view.untrack(this);
        }
      }
    }

    void interruptIfRunning() {
      synchronized (this) {
        if (runner != null) {
          runner.interrupt();
        }
      }
    }

    /** The destroy of the workqueue disarmed the timer, or the timer fired into a dying one. */
    @Override
    void refused() {
      if (future != null) {
        future.cancel(false);
      }
      view.untrack(this);
    }

    @Override
    Class<?> functionClass() {
      return future != null ? future.origin.getClass() : task.getClass();
    }

    @Override
    public String toString() {
      return "ViewWork[" + task + "]";
    }
  }

  // ---- the future -------------------------------------------------------------------------

  /**
   * The future of a submitted or scheduled task: a {@link FutureTask} (the JDK's state machine
   * for outcome, cancellation and interruption) tied to its work item.
   */
  static final class Task<V> extends FutureTask<V> implements RunnableScheduledFuture<V> {
    /** I: the item that runs this future. */
    final ViewWork work;
    /** P: nanoTime when the next run is due. Written before the item is (re)armed. */
    private volatile long time;
    /** I: 0 one-shot; &gt; 0 fixed rate; &lt; 0 fixed delay (negated). */
    private final long period;
    /** I: the Runnable or Callable the user gave (traces name its class). */
    final Object origin;
    /** V: handed to the workqueue (a task is never submitted twice through execute). */
    volatile boolean submitted;

    Task(ExecutorView view, Runnable runnable, V value, long time, long period) {
      super(runnable, value);
      this.origin = runnable;
      this.work = new ViewWork(view, this, this);
      this.time = time;
      this.period = period;
    }

    Task(ExecutorView view, Callable<V> callable, long time, long period) {
      super(callable);
      this.origin = callable;
      this.work = new ViewWork(view, this, this);
      this.time = time;
      this.period = period;
    }

    @Override
    public boolean isPeriodic() {
      return period != 0;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(time - System.nanoTime(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      if (other == this) {
        return 0;
      }
      long d = other instanceof Task ? time - ((Task<?>) other).time
          : getDelay(TimeUnit.NANOSECONDS) - other.getDelay(TimeUnit.NANOSECONDS);
      return d < 0 ? -1 : d > 0 ? 1 : 0;
    }

    @Override
    public void run() {
      if (period == 0) {
        super.run();
      } else if (runAndReset()) {
        rearm();
      }
    }

    /** Sets the next due time and re-arms the item from inside its own run. */
    private void rearm() {
      ExecutorView view = work.view;
      if (view.runState != RUNNING) {
        super.cancel(false); // periodic tasks end at shutdown
        return;
      }
      long now = System.nanoTime();
      long next = period > 0 ? time + period : now - period;
      time = next;
      try {
        view.wq.queueDelayedWork(work, Duration.ofNanos(Math.max(0, next - now)));
      } catch (RejectedExecutionException e) {
        super.cancel(false); // the workqueue is being destroyed
        return;
      }
      if (isCancelled()) {
        work.cancel(); // a cancel raced with the re-arm: take the item back off
      }
    }

    /**
     * {@link Future#cancel}: also takes a pending item off the workqueue ({@code cancel_work}),
     * so a cancelled task never occupies a worker or a max_active slot.
     */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      if (cancelled && submitted && work.cancel()) {
        work.view.untrack(work);
      }
      return cancelled;
    }
  }
}
