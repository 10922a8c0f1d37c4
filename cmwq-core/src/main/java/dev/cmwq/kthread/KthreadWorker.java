package dev.cmwq.kthread;

import dev.cmwq.Checks;
import dev.cmwq.Completion;
import dev.cmwq.Lockdep;
import dev.cmwq.timer.TimerBase;
import java.time.Duration;
import java.lang.System.Logger.Level;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code struct kthread_worker}: one dedicated thread running {@link KthreadWork} items one at a
 * time in FIFO order. No pools, no concurrency management, no max_active.
 *
 * <p>Its lock is independent of every workqueue lock, which is why the workqueue engine uses one
 * ({@code pool_workqueue_release}) to release pool workqueues: queueing here while holding a
 * pool lock cannot deadlock.
 *
 * <p>Lock rule: fields marked {@code W} are guarded by {@link #lock}.
 */
public final class KthreadWorker implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.cmwq.kthread");
  private static final ThreadFactory DAEMON = r -> {
    Thread t = new Thread(r);
    t.setDaemon(true);
    return t;
  };

  /** {@link #sleep}: running items, or about to look for one. */
  private static final int AWAKE = 0;
  /** {@link #sleep}: no item; polling for one with the lock released. */
  private static final int SPINNING = 1;
  /** {@link #sleep}: no item; parked until a queuer wakes it. */
  private static final int PARKED = 2;
  /** Upper bound of an idle spin: about 3 µs of {@code onSpinWait} here (12 ns each). */
  private static final int MAX_IDLE_SPINS = 256;
  /** Lower bound of an idle spin, so that the limit can grow back. */
  private static final int MIN_IDLE_SPINS = 8;
  /**
   * An item queued this soon after the thread parked means a longer spin would have caught it.
   * Measured to the queuer's unpark, not to the thread running again: a virtual CPU's wake-up
   * latency (tens of microseconds here) must not count as idleness.
   */
  private static final long SHORT_PARK_NANOS = 20_000;

  /** I: the thread name. */
  private final String name;
  /** I: the CPU it was created for, -1 for none. */
  private final int cpu;
  /** {@code worker->lock}: a leaf lock. */
  private final Lockdep.Lock lock;
  /** W: head of the FIFO of ready items. */
  private final KthreadWork workList = new KthreadWork(null, true);
  /** W: the item being executed (or just executed), null when idle. */
  private KthreadWork currentWork;
  /**
   * W to write, lock-free reads by the thread while it spins: {@link #AWAKE}, {@link #SPINNING}
   * or {@link #PARKED} (see {@link #idleWait()}).
   */
  private volatile int sleep;
  /** S (the worker's thread): polls the next idle spin may take; adapts between the bounds. */
  private int spinLimit = MAX_IDLE_SPINS;
  /** W: times a queuer had to unpark the thread (tests and benchmarks: wake-ups per item). */
  private long nrUnparks;
  /** W: when the thread last parked (nanoTime). */
  private long parkedAt;
  /** W: when a queuer last unparked it (nanoTime). */
  private long unparkedAt;
  /** W: the thread must exit. */
  private boolean stopping;
  /** W: delayed items whose timers are armed. */
  private int nrDelayed;
  /** I: the thread. */
  private final Thread task;

  private KthreadWorker(String name, int cpu, ThreadFactory factory) {
    this.name = name;
    this.lock = new Lockdep.Lock(Lockdep.LockClass.KTHREAD_WORKER, name);
    this.cpu = cpu;
    Thread t;
    try {
      t = factory.newThread(this::workerFn);
      if (t == null) {
        throw new IllegalStateException("the thread factory returned null");
      }
      t.setName(name);
      t.start();
    } catch (RuntimeException | Error e) {
      throw new IllegalStateException("cannot create the thread of kthread worker " + name, e);
    }
    this.task = t;
  }

  /** {@code kthread_create_worker}: a started worker with a daemon thread named {@code name}. */
  public static KthreadWorker create(String name) {
    return create(name, DAEMON);
  }

  /** {@code kthread_create_worker} with threads made by {@code factory}. */
  public static KthreadWorker create(String name, ThreadFactory factory) {
    Checks.notNull(name, "name");
    Checks.notNull(factory, "factory");
    return new KthreadWorker(name, -1, factory);
  }

  /**
   * {@code kthread_create_worker_on_cpu}: a worker meant for {@code cpu}. Binding the thread to
   * the CPU needs the optional native module; without it the CPU is recorded ({@link #cpu()})
   * and the thread may run anywhere.
   *
   * @throws IllegalArgumentException if {@code cpu} is not a CPU of this machine
   */
  public static KthreadWorker createOnCpu(int cpu, String name) {
    Checks.inRange(cpu, 0, Runtime.getRuntime().availableProcessors() - 1, "cpu");
    Checks.notNull(name, "name");
    return new KthreadWorker(name, cpu, DAEMON);
  }

  /** The thread name. */
  public String name() {
    return name;
  }

  /** Whether the thread is idle and polling for an item (tests: queueing into the spin). */
  boolean isIdleSpinning() {
    return sleep == SPINNING;
  }

  /** Times the thread had to be unparked for an item (an idle spin caught the others; tests). */
  long unparks() {
    lock.lock();
    try {
      return nrUnparks;
    } finally {
      lock.unlock();
    }
  }

  /** The CPU given to {@link #createOnCpu}, or -1. */
  public int cpu() {
    return cpu;
  }

  /** {@code kthread_worker_fn}: take the first item, run it, repeat; park when empty. */
  private void workerFn() {
    for (;;) {
      KthreadWork work;
      lock.lock();
      try {
        for (;;) {
          if (stopping) {
            currentWork = null;
            return;
          }
          work = workList.next;
          if (work != workList) {
            unlink(work);
            currentWork = work;
            break;
          }
          currentWork = null;
          idleWait();
        }
      } finally {
        lock.unlock();
      }
      try {
        work.run();
      } catch (Throwable t) {
        LOG.log(Level.WARNING, "kthread worker " + name + ": " + work + " threw", t);
      }
    }
  }

  /**
   * {@code kthread_queue_work}: appends {@code work} unless it is pending or being cancelled.
   * Never blocks beyond the worker's own short lock; safe to call with any other lock held.
   *
   * @return true if queued, false if it was pending or a cancel is in progress
   * @throws IllegalStateException if the item belongs to another worker, or this worker is
   *     destroyed
   */
  public boolean queueWork(KthreadWork work) {
    Checks.notNull(work, "work");
    lock.lock();
    try {
      checkOwner(work);
      checkAlive(work);
      if (queuingBlocked(work)) {
        return false;
      }
      insertBefore(work, workList);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@code kthread_queue_delayed_work}: arms {@code dwork} to be queued after {@code delay}
   * (zero or negative: queued now; huge delays saturate). The timer fires at most one tick
   * (about 0.5 ms) late.
   *
   * @return true if armed or queued, false if it was pending or a cancel is in progress
   * @throws IllegalStateException if the item belongs to another worker, or this worker is
   *     destroyed
   */
  public boolean queueDelayedWork(KthreadDelayedWork dwork, Duration delay) {
    Checks.notNull(dwork, "dwork");
    Checks.notNull(delay, "delay");
    lock.lock();
    try {
      checkOwner(dwork);
      checkAlive(dwork);
      if (queuingBlocked(dwork)) {
        return false;
      }
      queueDelayedLocked(dwork, delay);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@code kthread_mod_delayed_work}: whatever state {@code dwork} is in, arm it for
   * {@code delay} from now (zero: queue now). A running instance is not affected.
   *
   * @return true if it was pending (armed or queued) or a concurrent cancel wins (then nothing
   *     changes), false if it was idle
   * @throws IllegalStateException if the item belongs to another worker, or this worker is
   *     destroyed
   */
  public boolean modDelayedWork(KthreadDelayedWork dwork, Duration delay) {
    Checks.notNull(dwork, "dwork");
    Checks.notNull(delay, "delay");
    lock.lock();
    try {
      checkOwner(dwork);
      checkAlive(dwork);
      if (dwork.worker == null) {
        queueDelayedLocked(dwork, delay);
        return false;
      }
      if (dwork.canceling > 0) {
        return true; // a cancel in progress wins; the number of queued instances is unchanged
      }
      boolean ret = dwork.delayed ? disarm(dwork, /* keepFlushers= */ true) : dequeue(dwork);
      queueDelayedLocked(dwork, delay);
      return ret;
    } finally {
      lock.unlock();
    }
  }

  /** Lock held. */
  private void queueDelayedLocked(KthreadDelayedWork dwork, Duration delay) {
    long nanos = Checks.saturatedNanos(delay);
    if (nanos <= 0) {
      insertBefore(dwork, workList);
      moveFlushersBehind(dwork);
      return;
    }
    dwork.worker = this;
    dwork.delayed = true;
    nrDelayed++;
    TimerBase.shared().mod(dwork.timer, TimerBase.deadline(nanos));
  }

  /**
   * {@code kthread_delayed_work_timer_fn}: the timer expired; queue the item unless it was
   * disarmed or re-armed meanwhile (a stale expiry) or a cancel is in progress.
   */
  void delayedWorkTimerFn(KthreadDelayedWork dwork) {
    lock.lock();
    try {
      if (!dwork.delayed || dwork.timer.isPending()) {
        return;
      }
      dwork.delayed = false;
      nrDelayed--;
      if (dwork.canceling > 0 || stopping) {
        completeFlushers(dwork);
        return;
      }
      insertBefore(dwork, workList);
      moveFlushersBehind(dwork);
    } finally {
      lock.unlock();
    }
  }

  /** Lock held: flushes waiting for the timer now wait right behind the queued item. */
  private void moveFlushersBehind(KthreadDelayedWork dwork) {
    KthreadWork pos = dwork.next;
    for (FlushWork f : dwork.takeFlushers()) {
      insertBefore(f, pos);
    }
  }

  /** Lock held: the item will not run for these flushes; let them return. */
  private static void completeFlushers(KthreadDelayedWork dwork) {
    for (FlushWork f : dwork.takeFlushers()) {
      f.done.complete();
    }
  }

  /** Lock held: disarms an armed item; true (it was pending). */
  private boolean disarm(KthreadDelayedWork dwork, boolean keepFlushers) {
    // If the timer already expired and its function waits for our lock, it will see
    // delayed == false and do nothing.
    dwork.timer.delete();
    dwork.delayed = false;
    nrDelayed--;
    if (!keepFlushers) {
      completeFlushers(dwork);
    }
    return true;
  }

  /** Lock held: {@code __kthread_cancel_work} for a queued item. */
  private static boolean dequeue(KthreadWork work) {
    if (work.queued) {
      unlink(work);
      return true;
    }
    return false;
  }

  /** Lock held: {@code queuing_blocked}: pending, armed, or being cancelled. */
  private static boolean queuingBlocked(KthreadWork work) {
    return work.queued || work.canceling > 0
        || (work instanceof KthreadDelayedWork && ((KthreadDelayedWork) work).delayed);
  }

  private void checkAlive(KthreadWork work) {
    if (stopping) {
      throw new IllegalStateException("kthread worker " + name + " is destroyed: " + work
          + " was not queued");
    }
  }

  /**
   * {@code kthread_flush_worker}: waits for every item queued before the call.
   *
   * @throws IllegalStateException if called on this worker's own thread
   */
  public void flush() {
    if (Thread.currentThread() == task) {
      throw new IllegalStateException("flush() of kthread worker " + name
          + " from its own thread would wait for itself");
    }
    FlushWork fwork = new FlushWork();
    lock.lock();
    try {
      if (stopping) {
        return;
      }
      insertBefore(fwork, workList);
    } finally {
      lock.unlock();
    }
    fwork.done.await();
  }

  /**
   * {@code kthread_destroy_worker}: flushes, stops the thread and waits for it to exit. Items
   * queued afterwards are refused. Idempotent.
   *
   * @throws IllegalStateException if called on this worker's own thread
   */
  public void destroy() {
    if (Thread.currentThread() == task) {
      throw new IllegalStateException("destroy() of kthread worker " + name
          + " from its own thread would wait for itself");
    }
    lock.lock();
    try {
      if (nrDelayed > 0 && !stopping) {
        throw new IllegalStateException("kthread worker " + name + " has " + nrDelayed
            + " armed delayed item(s): cancel them (cancelSync) before destroy()");
      }
    } finally {
      lock.unlock();
    }
    flush();
    lock.lock();
    try {
      stopping = true;
      if (workList.next != workList) {
        LOG.log(Level.WARNING, "kthread worker " + name + " destroyed with items still queued");
      }
      wakeLocked();
    } finally {
      lock.unlock();
    }
    boolean interrupted = false;
    while (task.isAlive()) {
      try {
        task.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** {@link #destroy()}. */
  @Override
  public void close() {
    destroy();
  }

  /** {@code kthread_flush_work}. */
  boolean flushWork(KthreadWork work) {
    FlushWork fwork = new FlushWork();
    lock.lock();
    try {
      if (work.queued) {
        insertBefore(fwork, work.next); // right behind the item
      } else if (work instanceof KthreadDelayedWork && ((KthreadDelayedWork) work).delayed) {
        if (Thread.currentThread() == task) {
          throw new IllegalStateException("flush() of armed " + work + " on its own kthread"
              + " worker " + name + " would wait for the worker itself");
        }
        ((KthreadDelayedWork) work).addFlusher(fwork); // queued behind it when the timer fires
      } else if (currentWork == work) {
        insertBefore(fwork, workList.next); // next to run
      } else {
        return false;
      }
      if (Thread.currentThread() == task) {
        unlink(fwork);
        throw new IllegalStateException("flush() of " + work + " on its own kthread worker "
            + name + " would wait for the worker itself");
      }
    } finally {
      lock.unlock();
    }
    fwork.done.await();
    return true;
  }

  /** {@code kthread_cancel_work_sync}. */
  boolean cancelWorkSync(KthreadWork work) {
    boolean ret;
    lock.lock();
    try {
      checkOwner(work);
      if (work instanceof KthreadDelayedWork && ((KthreadDelayedWork) work).delayed) {
        ret = disarm((KthreadDelayedWork) work, /* keepFlushers= */ false);
      } else {
        ret = dequeue(work);
      }
      if (currentWork != work) {
        return ret;
      }
      if (Thread.currentThread() == task) {
        throw new IllegalStateException("cancelSync() of " + work
            + " from its own function would wait for itself");
      }
      work.canceling++;
    } finally {
      lock.unlock();
    }
    try {
      flushWork(work);
    } finally {
      lock.lock();
      try {
        work.canceling--;
      } finally {
        lock.unlock();
      }
    }
    return ret;
  }

  private void checkOwner(KthreadWork work) {
    KthreadWorker owner = work.worker;
    if (owner != null && owner != this) {
      throw new IllegalStateException(work + " belongs to kthread worker " + owner.name
          + " and cannot be used with " + name);
    }
  }

  /**
   * The thread has no item (lock held on entry and on return). It first polls {@link #sleep}
   * with the lock released, for up to {@link #spinLimit} spins, and parks only if nothing was
   * queued meanwhile: a queuer that finds it spinning just flips the state, saving the two
   * system calls of an unpark and the wake-up latency (several microseconds on a virtual CPU,
   * against a few hundred nanoseconds of the queuer's work per item). The limit doubles when a
   * spin catches an item or a queuer unparks the thread soon after it parked
   * ({@link #SHORT_PARK_NANOS}), and halves otherwise, so an idle worker stops burning CPU. All
   * state changes are made under the lock; the spinning read is the only lock-free access. Checked by {@code KthreadWorkerTest} (queue while spinning, while
   * parked, destroy of an idle worker).
   */
  private void idleWait() {
    sleep = SPINNING;
    int limit = spinLimit;
    lock.unlock();
    try {
      for (int i = 0; i < limit && sleep == SPINNING; i++) {
        Thread.onSpinWait();
      }
    } finally {
      lock.lock();
    }
    if (sleep != SPINNING) {
      spinLimit = Math.min(MAX_IDLE_SPINS, limit << 1);
      return; // a queuer (or destroy) woke us: sleep is AWAKE again
    }
    sleep = PARKED;
    parkedAt = System.nanoTime();
    lock.unlock();
    try {
      while (sleep == PARKED) {
        Thread.interrupted(); // a stray interrupt would turn park into a spin
        LockSupport.park(this);
      }
    } finally {
      lock.lock();
    }
    boolean shortPark = unparkedAt - parkedAt < SHORT_PARK_NANOS;
    spinLimit = shortPark ? Math.min(MAX_IDLE_SPINS, limit << 1)
        : Math.max(MIN_IDLE_SPINS, limit >> 1);
  }

  /** Lock held: ends the thread's idle wait, unparking it only if it is parked. */
  private void wakeLocked() {
    int s = sleep;
    if (s != AWAKE) {
      sleep = AWAKE;
      if (s == PARKED) {
        nrUnparks++;
        unparkedAt = System.nanoTime();
        LockSupport.unpark(task);
      }
    }
  }

  /** Inserts {@code work} before {@code pos} and wakes the thread if idle. Lock held. */
  private void insertBefore(KthreadWork work, KthreadWork pos) {
    KthreadWork prev = pos.prev;
    work.next = pos;
    work.prev = prev;
    prev.next = work;
    pos.prev = work;
    work.queued = true;
    if (!(work instanceof FlushWork)) {
      work.worker = this;
    }
    wakeLocked();
  }

  /** Lock held. */
  private static void unlink(KthreadWork work) {
    work.prev.next = work.next;
    work.next.prev = work.prev;
    work.prev = work;
    work.next = work;
    work.queued = false;
  }

  @Override
  public String toString() {
    return "KthreadWorker[" + name + "]";
  }

  /** {@code struct kthread_flush_work}: completes its completion when run. */
  static final class FlushWork extends KthreadWork {
    final Completion done;

    FlushWork() {
      this(new Completion());
    }

    private FlushWork(Completion done) {
      super(done::complete, true);
      this.done = done;
    }
  }
}
