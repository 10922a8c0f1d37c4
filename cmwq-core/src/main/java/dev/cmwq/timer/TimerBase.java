package dev.cmwq.timer;

import dev.cmwq.Lockdep;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/**
 * A thread-safe set of timers ({@code struct timer_base}): a {@link TimerWheel} behind one
 * lock, and one thread that sleeps until the next deadline and calls the expired timers'
 * {@link TimerList#fire()} in deadline order (arming order for equal deadlines).
 *
 * <p>The thread never ticks: with no timer due it sleeps until the earliest deadline, or
 * indefinitely when none is armed. Arming wakes it only when the new deadline is earlier than
 * the one it sleeps until, so re-arming far timers costs no wake-up.
 *
 * <p>Lock rule: the fields of this class and of every {@link TimerList} on it are guarded by
 * {@link #lock} (code {@code B}). The lock is a leaf: timers fire with it released.
 */
public final class TimerBase implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.cmwq.timer");
  private static final Comparator<TimerList> ORDER =
      Comparator.<TimerList>comparingLong(t -> t.expires).thenComparingLong(t -> t.seq);

  private final String name;
  /** The base lock. */
  private final Lockdep.Lock lock;
  /** Signalled when a running timer function returns ({@link #deleteSync}). */
  private final Condition fired;
  /** B: the timers. */
  private final TimerWheel wheel;
  /** I: the timer thread. */
  private final Thread thread;
  /** B: when the thread wakes next; {@link Long#MIN_VALUE} while it is awake and will look again. */
  private long parkedUntil = Long.MIN_VALUE;
  /** B: stop requested. */
  private boolean stopped;
  /** B: arming sequence. */
  private long seq;

  /** V: times arming woke the thread (benchmarks: wake-ups per operation). */
  final AtomicLong wakeups = new AtomicLong();
  /** V: timer functions called. */
  final AtomicLong firedCount = new AtomicLong();
  /** V: passes of the thread's loop (it never ticks: this only grows when there is work). */
  final AtomicLong rounds = new AtomicLong();

  /**
   * A base whose thread, named {@code name}, is made by {@code factory} and started at once.
   *
   * @throws IllegalStateException if the thread cannot be created
   */
  public TimerBase(String name, ThreadFactory factory) {
    this.name = name;
    this.lock = new Lockdep.Lock(Lockdep.LockClass.TIMER_BASE, name);
    this.fired = lock.newCondition();
    this.wheel = new TimerWheel(System.nanoTime());
    Thread t;
    try {
      t = factory.newThread(this::run);
      if (t == null) {
        throw new IllegalStateException("the thread factory returned null");
      }
      t.setName(name);
      t.start();
    } catch (RuntimeException | Error e) {
      throw new IllegalStateException("cannot create the timer thread " + name, e);
    }
    this.thread = t;
  }

  private static final class Shared {
    static final TimerBase INSTANCE = new TimerBase("kthread_timer", r -> {
      Thread t = new Thread(r);
      t.setDaemon(true);
      return t;
    });
  }

  /** The process-wide base used by {@code KthreadWorker} delayed work (daemon thread). */
  public static TimerBase shared() {
    return Shared.INSTANCE;
  }

  /** A deadline {@code delayNanos} from now; negative delays count as 0, huge ones saturate. */
  public static long deadline(long delayNanos) {
    long d = Math.max(0, Math.min(delayNanos, TimerWheel.MAX_DELAY_NANOS));
    return System.nanoTime() + d;
  }

  /**
   * {@code mod_timer}: arms {@code t} for {@code expires} (nanoTime scale), moving it if it was
   * armed (on this base or another one). O(1), no allocation.
   *
   * @return true if the timer was armed before (and has been moved)
   */
  public boolean mod(TimerList t, long expires) {
    TimerBase old = t.base;
    boolean was = false;
    if (old != null && old != this) {
      was = old.delete(t);
    }
    lock.lock();
    try {
      if (stopped) {
        throw new IllegalStateException("timer base " + name + " is closed");
      }
      was |= detach(t);
      t.expires = expires;
      t.seq = seq++;
      t.state = TimerList.PENDING;
      t.base = this;
      wheel.schedule(t);
      wakeIfEarlier(expires);
      return was;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Moves an armed timer to {@code expires} in one step; does nothing if it is not armed here
   * (including a timer that expired and is about to fire).
   *
   * @return true if it was armed and has been moved
   */
  public boolean reschedule(TimerList t, long expires) {
    if (t.base != this) {
      return false;
    }
    lock.lock();
    try {
      if (t.base != this || t.state != TimerList.PENDING) {
        return false;
      }
      wheel.deschedule(t);
      t.expires = expires;
      t.seq = seq++;
      wheel.schedule(t);
      wakeIfEarlier(expires);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@code del_timer}: disarms {@code t}. A timer that has expired but whose function has not
   * started yet is disarmed too (it will not fire).
   *
   * @return true if it was armed, i.e. this call prevented it from firing
   */
  public boolean delete(TimerList t) {
    if (t.base != this) {
      return false;
    }
    lock.lock();
    try {
      return t.base == this && detach(t);
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@code del_timer_sync}: {@link #delete}, and if the timer's function is running, waits for
   * it to return (not when called from the function itself).
   *
   * @return true if it was armed
   */
  public boolean deleteSync(TimerList t) {
    if (t.base != this) {
      return false;
    }
    lock.lock();
    try {
      // Loop as timer_delete_sync does: a function that re-arms its timer is disarmed after
      // it returns.
      for (;;) {
        if (t.base != this) {
          return false;
        }
        if (detach(t)) {
          return true;
        }
        if (t.state != TimerList.RUNNING || Thread.currentThread() == thread) {
          return false;
        }
        fired.awaitUninterruptibly();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Disarms every armed timer matching {@code filter} and returns them (for example all timers
   * targeting a workqueue that is being destroyed). O(armed timers).
   */
  public List<TimerList> deleteIf(Predicate<TimerList> filter) {
    List<TimerList> found = new ArrayList<>();
    lock.lock();
    try {
      wheel.forEach(t -> {
        if (filter.test(t)) {
          found.add(t);
        }
      });
      found.removeIf(t -> !detach(t));
    } finally {
      lock.unlock();
    }
    return found;
  }

  /** Whether {@code t} is armed on this base. */
  boolean isPending(TimerList t) {
    lock.lock();
    try {
      return t.base == this && (t.state == TimerList.PENDING || t.state == TimerList.FIRING);
    } finally {
      lock.unlock();
    }
  }

  long expiresOf(TimerList t) {
    lock.lock();
    try {
      return t.expires;
    } finally {
      lock.unlock();
    }
  }

  /** Armed timers. */
  public int size() {
    lock.lock();
    try {
      return wheel.size();
    } finally {
      lock.unlock();
    }
  }

  /** Times arming had to wake the timer thread. */
  public long wakeups() {
    return wakeups.get();
  }

  /** The wheel's time origin (tests). */
  long wheelOrigin() {
    return wheel.origin();
  }

  /** Passes of the timer thread's loop so far. */
  public long rounds() {
    return rounds.get();
  }

  /** The thread's name. */
  public String name() {
    return name;
  }

  /** Lock held: wakes the thread if it sleeps past {@code expires}. */
  private void wakeIfEarlier(long expires) {
    long until = parkedUntil;
    if (until != Long.MIN_VALUE && (until == Long.MAX_VALUE || expires - until < 0)) {
      parkedUntil = expires;
      wakeups.incrementAndGet();
      LockSupport.unpark(thread);
    }
  }

  /** Lock held: takes {@code t} out of the wheel or out of the batch about to fire. */
  private boolean detach(TimerList t) {
    switch (t.state) {
      case TimerList.PENDING:
        wheel.deschedule(t);
        t.state = TimerList.IDLE;
        return true;
      case TimerList.FIRING:
        t.state = TimerList.IDLE; // the thread skips it
        return true;
      default:
        return false;
    }
  }

  private void run() {
    List<TimerList> batch = new ArrayList<>();
    lock.lock();
    try {
      while (!stopped) {
        parkedUntil = Long.MIN_VALUE;
        rounds.incrementAndGet();
        wheel.advance(System.nanoTime(), t -> {
          t.state = TimerList.FIRING;
          batch.add(t);
        });
        if (!batch.isEmpty()) {
          batch.sort(ORDER);
          for (TimerList t : batch) {
            if (t.state != TimerList.FIRING) {
              continue; // deleted or re-armed after it expired
            }
            t.state = TimerList.RUNNING;
            lock.unlock();
            try {
              t.fire();
            } catch (Throwable e) {
              LOG.log(Level.WARNING, "timer " + name + ": " + t + " threw", e);
            } finally {
              lock.lock();
            }
            if (t.state == TimerList.RUNNING) {
              t.state = TimerList.IDLE; // else its function re-armed it
            }
            firedCount.incrementAndGet();
            fired.signalAll();
          }
          batch.clear();
          continue;
        }
        long next = wheel.nextDeadline();
        parkedUntil = next;
        lock.unlock();
        // Nothing is locked between publishing parkedUntil and parking, so an arming thread's
        // unpark cannot be swallowed by a lock acquisition.
        try {
          if (next == Long.MAX_VALUE) {
            LockSupport.park(this);
          } else {
            long wait = next - System.nanoTime();
            if (wait > 0) {
              LockSupport.parkNanos(this, wait);
            }
          }
        } finally {
          lock.lock();
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops the thread; armed timers never fire. Idempotent.
   *
   * @throws IllegalStateException from the timer thread itself
   */
  @Override
  public void close() {
    if (Thread.currentThread() == thread) {
      throw new IllegalStateException("close() of timer base " + name + " from a timer function");
    }
    lock.lock();
    try {
      stopped = true;
    } finally {
      lock.unlock();
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      LockSupport.unpark(thread);
      try {
        thread.join(10);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "TimerBase[" + name + ", armed=" + size() + "]";
  }
}
