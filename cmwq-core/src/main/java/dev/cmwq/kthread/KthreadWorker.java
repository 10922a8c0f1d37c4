package dev.cmwq.kthread;

import dev.cmwq.Checks;
import dev.cmwq.Completion;
import dev.cmwq.IdleSpin;
import dev.cmwq.IsolatedCell;
import dev.cmwq.Lockdep;
import dev.cmwq.timer.TimerBase;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * {@code struct kthread_worker}: one dedicated thread running {@link KthreadWork} items one at a
 * time in FIFO order. No pools, no concurrency management, no max_active.
 *
 * <p>Its lock is independent of every workqueue lock, which is why the workqueue engine uses one
 * ({@code pool_workqueue_release}) to release pool workqueues: queueing here while holding a
 * pool lock cannot deadlock.
 *
 * <h2>Queueing without the lock</h2>
 * {@link #queueWork} of an item that has been on this worker before takes no lock: it claims the
 * item ({@link KthreadWork#state} from 0 to {@code QUEUED}, one CAS), pushes it onto the
 * {@link #inbox} (a Treiber stack, one CAS) and wakes the thread if it is idle. Whoever takes
 * the lock and needs the whole list first splices the inbox onto the list's tail, oldest first:
 * the thread when its list runs dry, a flush, a cancel, a re-arm, a timer that fires. FIFO order
 * holds because everything in the inbox was queued after everything on the list. A lock holder
 * that finds an item claimed but not yet pushed (the queuer is between its two CASes) drops the
 * lock and retries, as the kernel's {@code try_to_grab_pending} callers retry on
 * {@code -EAGAIN}. {@link #destroy()} closes the inbox, so a late queuer fails loudly instead of
 * losing its item.
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
  /**
   * The longest idle poll: 3 µs. The thread is not pinned, so it may share a CPU with the
   * queuer it waits for, which could not run during a longer poll (a pool worker can tell a
   * wake-up from its own CPU and shortens its poll; this thread cannot).
   */
  private static final long IDLE_SPIN_NANOS = 3_000;
  /** Length of {@link #currentWork}: its middle element has a cache line of its own. */
  private static final int CURRENT_SLOTS = 40;
  private static final int QUEUED = KthreadWork.QUEUED;
  private static final int BLOCKED = KthreadWork.BLOCKED;
  /** The {@link #inbox} of a destroyed worker: pushes fail. */
  private static final KthreadWork CLOSED = new KthreadWork(null, true);
  private static final VarHandle SLEEP;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      SLEEP = l.findVarHandle(KthreadWorker.class, "sleep", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** I: the thread name. */
  private final String name;
  /** I: the CPU it was created for, -1 for none. */
  private final int cpu;
  /** {@code worker->lock}: a leaf lock. */
  private final Lockdep.Lock lock;
  /** W: head of the FIFO of ready items. */
  private final KthreadWork workList = new KthreadWork(null, true);
  /**
   * V: the inbox, an {@link IsolatedCell} (its head has a card-table line to itself). The head
   * is the newest item queued without the lock, the others follow through
   * {@link KthreadWork#next}; null when empty, {@link #CLOSED} once destroyed. Queuers push by
   * CAS, the lock holder takes the whole chain ({@link #splice()}), and CLOSED is only set under
   * the lock.
   */
  private final Object[] inbox = IsolatedCell.create();
  /**
   * W: the item being executed (or just executed), null when idle: the middle element of this
   * array ({@link #current()}), whose other elements stay null. The thread writes it for every
   * item, while queuers read this object's fields ({@code inbox}, {@code sleep}) on every push;
   * as a plain field it shared their cache line, which then crossed between the CPUs for every
   * item ({@code BurstProbe kthread,mpsc}: 65–77 ns per item, 51–55 with at least 76 B of the
   * array on either side of the element).
   */
  private final Object[] currentWork = new Object[CURRENT_SLOTS];
  /**
   * V: {@link #AWAKE}, {@link #SPINNING} or {@link #PARKED} (see {@link #idleWait()}). The
   * thread moves it from AWAKE to SPINNING (under the lock) and from SPINNING to PARKED (CAS);
   * wakers, with or without the lock, move it back to AWAKE by CAS ({@link #wake()}).
   */
  private volatile int sleep;
  /**
   * I: the idle poll (its own state is S: the worker's thread), at most {@link #IDLE_SPIN_NANOS}.
   */
  private final IdleSpin idleSpin = new IdleSpin(IDLE_SPIN_NANOS);
  /** I: what the idle poll watches (made once, so that a poll allocates nothing). */
  private final BooleanSupplier woken = () -> sleep != SPINNING;
  /** V: times a queuer had to unpark the thread (tests and benchmarks: wake-ups per item). */
  private final AtomicLong nrUnparks = new AtomicLong();
  /**
   * R: when a waker last found the thread parked (nanoTime), written before its CAS; any recent
   * waker's time serves the spin's adaptation.
   */
  private volatile long unparkedAt;
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
    return nrUnparks.get();
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
            setCurrent(null);
            return;
          }
          work = workList.next;
          if (work == workList) {
            splice(); // only when the list runs dry: one inbox exchange per batch
            work = workList.next;
          }
          if (work != workList) {
            unlink(work);
            // Non-zero, so no queuer races this write; a release store suffices: a queuer's
            // claim CAS reads it, and nothing here depends on a later read.
            KthreadWork.STATE.setRelease(work, work.state & ~QUEUED);
            setCurrent(work);
            break;
          }
          setCurrent(null);
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
   * An item already owned by this worker is queued without any lock (two CASes, see the class
   * comment); the first queueing of an item takes the worker's short lock to record the owner.
   * Never blocks otherwise; safe to call with any other lock held.
   *
   * @return true if queued, false if it was pending or a cancel is in progress
   * @throws IllegalStateException if the item belongs to another worker, or this worker is
   *     destroyed
   */
  public boolean queueWork(KthreadWork work) {
    Checks.notNull(work, "work");
    if (work.worker == this) {
      if (!work.claim()) {
        return false; // pending, armed, or a cancel is in progress
      }
      push(work);
      return true;
    }
    lock.lock(); // first queueing: record the owner
    try {
      checkOwner(work);
      checkAlive(work);
      if (!work.claim()) {
        return false;
      }
      own(work);
      splice();
      insertBefore(work, workList);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Lock held, after {@link #checkOwner}: records this worker as the item's owner at its first
   * queueing (a volatile store, so it is written once, not on every locked queueing).
   */
  private void own(KthreadWork work) {
    if (work.worker == null) {
      work.worker = this;
    }
  }

  /**
   * Pushes a claimed item onto the inbox and wakes the thread. On a destroyed worker the claim
   * is undone and the call fails.
   */
  private void push(KthreadWork work) {
    KthreadWork head;
    do {
      head = inboxHead();
      if (head == CLOSED) {
        KthreadWork.STATE.getAndBitwiseAnd(work, ~QUEUED);
        throw new IllegalStateException("kthread worker " + name + " is destroyed: " + work
            + " was not queued");
      }
      work.next = head; // the item is on no list: next is the inbox link until spliced
    } while (!IsolatedCell.compareAndSet(inbox, head, work));
    wake();
  }

  /** Lock held: the item being executed, or null. */
  private KthreadWork current() {
    return (KthreadWork) currentWork[CURRENT_SLOTS / 2];
  }

  /** Lock held, on the thread: records the item about to run (null: none). */
  private void setCurrent(KthreadWork work) {
    currentWork[CURRENT_SLOTS / 2] = work;
  }

  /** The inbox's head (volatile read). */
  private KthreadWork inboxHead() {
    return (KthreadWork) IsolatedCell.get(inbox);
  }

  /** Lock held: moves the inbox's items to the tail of the list, oldest first. */
  private void splice() {
    KthreadWork top = inboxHead();
    if (top == null || top == CLOSED) {
      return; // CLOSED is only set under the lock, so it cannot appear before the exchange
    }
    linkChain((KthreadWork) IsolatedCell.getAndSet(inbox, null));
  }

  /**
   * Lock held: appends an inbox chain (newest first) to the list in queueing order, in one pass:
   * the newest goes to the tail and each older one just before the one linked before it.
   */
  private void linkChain(KthreadWork top) {
    KthreadWork pos = workList;
    while (top != null) {
      KthreadWork n = top.next; // the inbox link, overwritten by the list link
      link(top, pos);
      pos = top;
      top = n;
    }
  }

  /**
   * Lock held: splices the inbox and returns {@code work}'s state, read once after the splice.
   * While that state says claimed but the item is on no list (its queuer has not pushed it
   * yet), drops the lock and retries; the wait is as long as the queuer's next few instructions
   * (it holds no lock we take). The returned value is then stable if non-zero (only lock
   * holders change a non-zero state, and a queued item is on the list); if 0, a queuer may claim
   * the item at any moment, so the caller changes it only by CAS from 0. Callers must use the
   * returned value, not a second read: a claim between two reads would look like a queued item
   * that is on no list (seen in {@code KthreadWorkerTest.concurrentQueuersCancelsAndFlushes…}).
   */
  private int settle(KthreadWork work) {
    for (;;) {
      splice();
      int s = work.state;
      if ((s & QUEUED) == 0 || work.prev != work) {
        return s;
      }
      lock.unlock();
      try {
        Thread.onSpinWait();
        Thread.yield();
      } finally {
        lock.lock();
      }
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
    return queueDelayedWorkNanos(dwork, Checks.delayNanos(delay));
  }

  /**
   * {@link #queueDelayedWork(KthreadDelayedWork, Duration)} with the delay as an amount of
   * {@code unit} ({@code unit.toNanos(delay)}, saturated): no {@link Duration} per call.
   */
  public boolean queueDelayedWork(KthreadDelayedWork dwork, long delay, TimeUnit unit) {
    return queueDelayedWorkNanos(dwork, Checks.delayNanos(delay, unit));
  }

  private boolean queueDelayedWorkNanos(KthreadDelayedWork dwork, long nanos) {
    Checks.notNull(dwork, "dwork");
    lock.lock();
    try {
      checkOwner(dwork);
      checkAlive(dwork);
      if (!KthreadWork.STATE.compareAndSet(dwork, 0, nanos <= 0 ? QUEUED : BLOCKED)) {
        return false; // pending, armed, or a cancel is in progress
      }
      own(dwork);
      place(dwork, nanos);
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
    return modDelayedWorkNanos(dwork, Checks.delayNanos(delay));
  }

  /** {@link #modDelayedWork(KthreadDelayedWork, Duration)} with the delay in {@code unit}. */
  public boolean modDelayedWork(KthreadDelayedWork dwork, long delay, TimeUnit unit) {
    return modDelayedWorkNanos(dwork, Checks.delayNanos(delay, unit));
  }

  private boolean modDelayedWorkNanos(KthreadDelayedWork dwork, long nanos) {
    Checks.notNull(dwork, "dwork");
    lock.lock();
    try {
      checkOwner(dwork);
      checkAlive(dwork);
      int target = nanos <= 0 ? QUEUED : BLOCKED;
      for (;;) {
        int s = settle(dwork);
        if (dwork.canceling > 0) {
          return true; // a cancel in progress wins; the number of queued instances is unchanged
        }
        if (s == 0) {
          if (!KthreadWork.STATE.compareAndSet(dwork, 0, target)) {
            continue; // a queuer claimed it meanwhile: take that instance back
          }
          own(dwork);
          place(dwork, nanos);
          return false;
        }
        // queued or armed (non-zero, so no queuer can change the state under us)
        if (dwork.delayed) {
          disarm(dwork, /* keepFlushers= */ true);
        } else {
          unlinkIfQueued(dwork);
        }
        dwork.state = target; // one store: no window at 0 for a queuer
        place(dwork, nanos);
        return true;
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Lock held, {@code dwork}'s state already set to QUEUED (delay zero or negative: queued at
   * the tail now) or BLOCKED (armed for {@code nanos}).
   */
  private void place(KthreadDelayedWork dwork, long nanos) {
    if (nanos <= 0) {
      splice(); // items queued before this call go first
      insertBefore(dwork, workList);
      moveFlushersBehind(dwork);
      return;
    }
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
        unblock(dwork);
        return;
      }
      dwork.state = QUEUED; // from BLOCKED: no queuer races a non-zero state
      splice();
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

  /**
   * Lock held: disarms an armed item; true (it was pending). Its state keeps BLOCKED: the caller
   * sets the next one ({@link #unblock} or a new placement).
   */
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

  /**
   * Lock held, after {@link #settle}: takes a queued item off the list. Its state still says
   * QUEUED: the caller writes the next state in one store, so that no queuer can claim the item
   * in between (it would push an item that is back on the list).
   */
  private static boolean unlinkIfQueued(KthreadWork work) {
    if ((work.state & QUEUED) != 0) {
      unlink(work);
      return true;
    }
    return false;
  }

  /**
   * Lock held: clears BLOCKED once no cancel is in progress and no timer is armed
   * ({@code queuing_blocked} turns false). A state without BLOCKED is left alone: it may be 0,
   * which only a CAS may change.
   */
  private static void unblock(KthreadWork work) {
    int s = work.state;
    if ((s & BLOCKED) != 0 && work.canceling == 0
        && !(work instanceof KthreadDelayedWork && ((KthreadDelayedWork) work).delayed)) {
      work.state = s & ~BLOCKED;
    }
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
      splice();
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
      KthreadWork rest = (KthreadWork) IsolatedCell.getAndSet(inbox, CLOSED); // later queuers fail
      if (rest != CLOSED) {
        linkChain(rest);
      }
      if (workList.next != workList) {
        LOG.log(Level.WARNING, "kthread worker " + name + " destroyed with items still queued");
      }
      wake();
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
      if ((settle(work) & QUEUED) != 0) {
        insertBefore(fwork, work.next); // right behind the item
      } else if (work instanceof KthreadDelayedWork && ((KthreadDelayedWork) work).delayed) {
        if (Thread.currentThread() == task) {
          throw new IllegalStateException("flush() of armed " + work + " on its own kthread"
              + " worker " + name + " would wait for the worker itself");
        }
        ((KthreadDelayedWork) work).addFlusher(fwork); // queued behind it when the timer fires
      } else if (current() == work) {
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

  /**
   * {@code kthread_cancel_work_sync}. Taking the pending instance and refusing further queueing
   * (while a running instance finishes) is one step, as under the kernel's lock: the state goes
   * from QUEUED (or armed) to BLOCKED or idle in a single store, and from idle to BLOCKED by CAS,
   * so a lock-free queuer cannot slip an instance in between.
   */
  boolean cancelWorkSync(KthreadWork work) {
    boolean ret;
    lock.lock();
    try {
      checkOwner(work);
      for (;;) {
        int s = settle(work);
        boolean running = current() == work;
        if (running && Thread.currentThread() == task) {
          throw new IllegalStateException("cancelSync() of " + work
              + " from its own function would wait for itself");
        }
        if (s == 0) {
          if (!running) {
            return false;
          }
          if (!KthreadWork.STATE.compareAndSet(work, 0, BLOCKED)) {
            continue; // a queuer claimed it first: take that instance on the next pass
          }
          work.canceling++;
          ret = false;
          break;
        }
        // Queued, armed, or another cancel is in progress: no queuer can change s now.
        if (work instanceof KthreadDelayedWork && ((KthreadDelayedWork) work).delayed) {
          ret = disarm((KthreadDelayedWork) work, /* keepFlushers= */ false);
        } else {
          ret = unlinkIfQueued(work);
        }
        if (running) {
          work.canceling++;
        }
        work.state = work.canceling > 0 ? BLOCKED : 0; // one store
        if (!running) {
          return ret;
        }
        break;
      }
    } finally {
      lock.unlock();
    }
    try {
      flushWork(work);
    } finally {
      lock.lock();
      try {
        work.canceling--;
        unblock(work);
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
   * The thread has no item (lock held on entry and on return; the list and the inbox were
   * found empty). It first polls {@link #sleep} with the lock released ({@link IdleSpin}: up to
   * {@link #IDLE_SPIN_NANOS}, shorter when items come rarely), and parks only if
   * nothing was queued meanwhile: a queuer that finds it spinning just flips the state, saving
   * the two system calls of an unpark and the wake-up latency (tens of microseconds when the
   * thread's vCPU has halted, against tens of nanoseconds of the queuer's work per item).
   * Whether the thread was woken soon after parking is measured to the waker's
   * {@link #unparkedAt}, so that wake-up latency does not count as idleness.
   *
   * <p>No lost wake-up: the thread publishes SPINNING and then reads the inbox, a lock-free
   * queuer pushes and then reads {@code sleep} (both volatile), so one of them sees the other; a
   * locked inserter sees SPINNING because it was written under the lock; and {@link #wake()}
   * retries its CAS until it sees AWAKE or wins, so the thread's own SPINNING to PARKED step
   * cannot swallow a wake-up. Checked by {@code KthreadWorkerTest} (queue while spinning, while
   * parked, from many threads at once; destroy of an idle worker) and jcstress.
   */
  private void idleWait() {
    sleep = SPINNING;
    KthreadWork top = inboxHead();
    if (top != null && top != CLOSED) {
      sleep = AWAKE; // a push raced the splice
      return;
    }
    boolean parked = false;
    long parkStart = 0;
    lock.unlock();
    try {
      if (!idleSpin.poll(woken)) {
        parkStart = System.nanoTime();
        if (SLEEP.compareAndSet(this, SPINNING, PARKED)) {
          parked = true;
          while (sleep == PARKED) {
            Thread.interrupted(); // a stray interrupt would turn park into a spin
            LockSupport.park(this);
          }
        }
      }
    } finally {
      lock.lock();
    }
    if (parked) {
      idleSpin.parked(unparkedAt - parkStart);
    } else {
      idleSpin.caught(); // the poll, or the step after it, caught an item (or destroy)
    }
  }

  /**
   * Ends the thread's idle wait, unparking it only if it is parked; with or without the lock.
   * Retries until it sees AWAKE or its own CAS wins.
   */
  private void wake() {
    for (;;) {
      int s = sleep;
      if (s == AWAKE) {
        return;
      }
      if (s == PARKED) {
        unparkedAt = System.nanoTime(); // before the CAS, so the thread sees it when woken
      }
      if (SLEEP.compareAndSet(this, s, AWAKE)) {
        if (s == PARKED) {
          nrUnparks.incrementAndGet();
          LockSupport.unpark(task);
        }
        return;
      }
    }
  }

  /** Lock held: inserts {@code work} (its state already set) before {@code pos}; wakes the thread. */
  private void insertBefore(KthreadWork work, KthreadWork pos) {
    link(work, pos);
    wake();
  }

  /** Lock held: list insertion before {@code pos}. */
  private static void link(KthreadWork work, KthreadWork pos) {
    KthreadWork prev = pos.prev;
    work.next = pos;
    work.prev = prev;
    prev.next = work;
    pos.prev = work;
  }

  /** Lock held. */
  private static void unlink(KthreadWork work) {
    work.prev.next = work.next;
    work.next.prev = work.prev;
    work.prev = work;
    work.next = work;
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
