package dev.cmwq.timer;

import dev.cmwq.IsolatedCell;
import dev.cmwq.Lockdep;
import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
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
 * {@link TimerList#fire()} in deadline order (reconcile order, which is arming order, for equal
 * deadlines).
 *
 * <h2>Arming and cancelling without the lock</h2>
 *
 * Callers never take the base lock to arm, re-arm or cancel. A timer's state word is the
 * truth ({@link TimerList}): arming takes the timer's {@code BUSY} bit, writes the deadline and
 * stores {@code ARMED} with a new generation ({@link #add}, for a caller that is the timer's
 * only arming party, does it in one CAS); cancelling clears {@code ARMED} by CAS. Either then
 * pushes the timer onto the base's <em>reconcile stack</em> (a Treiber stack through
 * {@link TimerList#stackNext}) unless it is already there ({@code QUEUED}). Whoever holds the
 * lock and needs the wheel, the timer thread on each pass and {@link #size}, {@link #deleteIf}
 * and a move to another base, first takes the whole stack and brings each timer's place in
 * the wheel in line with its state: links an armed timer at its deadline (once per
 * generation), unlinks a disarmed one.
 *
 * <p>Firing is decided on the state too: the thread fires an expired timer only by a CAS from
 * the exact armed state it placed ({@code ARMED} and the generation recorded at placement) to
 * {@code RUNNING}. A concurrent cancel that clears {@code ARMED} first wins and returns true; a
 * re-arm changes the generation, so the stale placement is skipped and the newer arming, which
 * is on the stack, is placed instead. So {@code del_timer}'s answer and "fires exactly once per
 * arming that was not cancelled" are exact, while the wheel lags the state.
 *
 * <p>How far it lags: the thread takes the stack when it wakes, and it wakes early enough to
 * place every timer on it before the first of them falls due (a lead that grows with the
 * stack's depth, {@link #placeBy}); and no later than {@link #PLACE_DELAY_NANOS} (100 ms) after the first push onto the
 * empty stack ({@link #lookBy}). Timers armed and cancelled within that time never reach the
 * wheel at all (the common network-timeout pattern, and Netty's wheel behaves alike), and a
 * cancelled timer, with whatever its owner references, stays reachable for at most that long.
 *
 * <p>The thread never ticks: with no timer due it sleeps until the earliest deadline, or
 * indefinitely when none is armed. An arming wakes it only when the new deadline is earlier than
 * the time it sleeps until, and a burst of armings costs one wake-up per 100 ms at most, so
 * arming and re-arming far timers costs no lock and almost no wake-ups.
 *
 * <h2>Deferred armings: no clock read per arming in a burst</h2>
 *
 * Reading {@code System.nanoTime()} orders the instruction stream, so an arming of an item
 * that is not in cache first waits for the item's misses: at a million armings it was half
 * the arming's cost. While armings come faster than 500 000 per second (measured by the push
 * that reaches each multiple of {@link #STAMP_CHECK_DEPTH} on the stack), {@link #addAfter}
 * of an idle timer for {@link #DEFER_MIN_NANOS} (1 s) or more stores the delay with a
 * {@code DEFERRED} flag instead of a deadline. The thread then <em>stamps</em> the stack once
 * per {@link #STAMP_NANOS} (one tick) while deferred armings arrive: it pushes a marker and
 * reads the clock after the push, a time later than every arming below the marker. A drainer
 * walks the chain newest first and places each deferred arming at the nearest stamp above it
 * (or at its own reading, taken after it took the stack) plus the delay. A deferred timer
 * therefore never fires early, and at most one stamp period (plus the thread's wake-up latency)
 * later than one that read the clock. Only a timer that is not on the stack may be deferred:
 * one still there from an earlier arming sits below stamps pushed since. Stamping stops after
 * a period without a deferred arming; while it runs it costs one wake-up per tick. Tested by
 * {@code DeferredArmingTest} and jcstress {@code TimerDeferredAddVsReschedule}.
 *
 * <p>Lock rule: the wheel and the link fields of every {@link TimerList} on this base are
 * guarded by {@link #lock} (code {@code B}). The lock is a leaf: timers fire with it released.
 * The protocol is tested by {@code TimerBaseTest} (exactly-once under concurrent arms, moves
 * and cancels, and for {@link #add} on idle timers against reschedules; stale placements; lost
 * wake-ups) and jcstress {@code TimerDeleteVsFire}, {@code TimerModVsDelete} and
 * {@code TimerAddVsReschedule}.
 */
public final class TimerBase implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("dev.cmwq.timer");
  /** Deadline, then reconcile order; both compared by difference, so wrapping is harmless. */
  private static final Comparator<TimerList> ORDER = (a, b) -> {
    long d = a.when - b.when;
    return Long.signum(d != 0 ? d : a.seq - b.seq);
  };
  /** {@link #parkedUntil} while the thread is awake and will look at the stack again. */
  private static final long AWAKE = Long.MIN_VALUE;
  /**
   * How long a push may wait before the thread takes the stack (unless a deadline is earlier):
   * 100 ms, the default tick of Netty's wheel, which bounds its pending queue the same way.
   */
  static final long PLACE_DELAY_NANOS = 100_000_000L;
  /**
   * A generous estimate of the thread's time to take one timer off the stack and place it (25
   * to 50 ns measured here at a million timers); see {@link #placeBy}.
   */
  static final long DRAIN_NANOS_PER_TIMER = 100;
  /** The shortest delay {@link #addAfter} defers: 1 s (one stamp period is 0.05% of it). */
  static final long DEFER_MIN_NANOS = 1_000_000_000L;
  /** How often the thread stamps the stack while armings are deferred: one tick. */
  static final long STAMP_NANOS = TimerWheel.TICK_NANOS;
  /** Every this many pushes onto the stack, an arming checks the rate (a power of two). */
  static final int STAMP_CHECK_DEPTH = 4096;
  /** Stamping starts at a rate of one push per this many ns or more (500 000 per second). */
  static final long STAMP_START_GAP_NANOS = 2_000;
  private static final VarHandle PARKED_UNTIL;
  private static final VarHandle LOOK_BY;
  private static final VarHandle STAMP_BY;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      PARKED_UNTIL = l.findVarHandle(TimerBase.class, "parkedUntil", long.class);
      LOOK_BY = l.findVarHandle(TimerBase.class, "lookBy", long.class);
      STAMP_BY = l.findVarHandle(TimerBase.class, "stampBy", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final String name;
  /** The base lock. */
  private final Lockdep.Lock lock;
  /** Signalled when a running timer function returns ({@link #deleteSync}). */
  private final Condition fired;
  /** B: the timers. */
  private final TimerWheel wheel;
  /** B: expired timers taken off the wheel whose firing the thread is deciding. */
  private final ArrayList<TimerList> batch = new ArrayList<>();
  /** I: the timer thread. */
  private final Thread thread;
  /**
   * V: the reconcile stack's head, an {@link IsolatedCell} (the pushers' CAS would otherwise
   * dirty cards on the card-table line that the thread's wheel stores mark). Pushers CAS it; the
   * lock holder takes the whole chain.
   */
  private final Object[] stack = IsolatedCell.create();
  /**
   * V: when the thread wakes next ({@link Long#MAX_VALUE}: never), or {@link #AWAKE}. The thread
   * writes it; a waker claims the wake-up by CAS to AWAKE before unparking, so a burst of
   * arms unparks once.
   */
  private volatile long parkedUntil = AWAKE;
  /**
   * V: when the thread must next take the stack ({@link Long#MAX_VALUE}: no need): no later
   * than the {@link #placeBy} time of any timer on it, nor than {@link #PLACE_DELAY_NANOS}
   * after the first push. Callers lower it by CAS, which happens only for a new minimum;
   * {@link #drain} resets it. The thread sleeps no later than this, so it need not take the
   * stack before sleeping (which would contend with a burst of arms for the head).
   */
  private volatile long lookBy = Long.MAX_VALUE;
  /**
   * V: armings may be deferred ({@link #addAfter}): many are being made, and the thread stamps
   * the stack while they come. Set by a pusher that measures the rate ({@link #push}), cleared
   * by the thread after a stamp period without a deferred arming.
   */
  private volatile boolean stamping;
  /**
   * V: the clock reading of the newest stamp (or of the start of stamping); always a time
   * before the read of it, so a deferred arming uses it as a lower bound of its own time.
   */
  private volatile long lastStamp;
  /**
   * V: when the thread must next push a stamp ({@link Long#MAX_VALUE}: no deferred arming is
   * waiting for one). Deferred armings lower it by CAS; the thread resets it when it stamps.
   */
  private volatile long stampBy = Long.MAX_VALUE;
  /** V: the clock reading of the last push onto the empty stack (for the rate check). */
  private volatile long firstPushAt;
  /** I: the shortest delay {@link #addAfter} defers. */
  private final long deferMinNanos;
  /** B: stamps taken off the stack, for the next ones. */
  private final ArrayDeque<Stamp> stampPool = new ArrayDeque<>();
  /** B: deferred armings placed in the wheel so far (tests). */
  private long deferredPlaced;
  /** V (written under B): stop requested. */
  private volatile boolean stopped;
  /**
   * B: reconcile order: 2^32 times the number of drains (wrapping); a drain numbers its timers
   * down from here, so equal deadlines fire in push order.
   */
  private long seq;

  /** V: times arming woke the thread (benchmarks: wake-ups per operation). */
  final AtomicLong wakeups = new AtomicLong();
  /** V: passes of the thread's loop (it never ticks: this only grows when there is work). */
  final AtomicLong rounds = new AtomicLong();

  /**
   * A base whose thread, named {@code name}, is made by {@code factory} and started at once.
   *
   * @throws IllegalStateException if the thread cannot be created
   */
  public TimerBase(String name, ThreadFactory factory) {
    this(name, factory, DEFER_MIN_NANOS);
  }

  /** As the public constructor, deferring delays of at least {@code deferMinNanos} (tests). */
  TimerBase(String name, ThreadFactory factory, long deferMinNanos) {
    this.name = name;
    this.deferMinNanos = deferMinNanos;
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

  // ---- the callers' side: no lock ------------------------------------------------------------

  /**
   * {@code mod_timer}: arms {@code t} for {@code expires} (nanoTime scale), moving it if it was
   * armed (on this base or another one). O(1), no allocation, no lock (moving from another base
   * takes that base's lock once).
   *
   * @return true if the timer was armed before (and has been moved)
   * @throws IllegalStateException if the base is closed
   */
  public boolean mod(TimerList t, long expires) {
    boolean was = false;
    TimerBase old = t.base;
    if (old != this) {
      if (old != null) {
        was = old.evict(t);
      }
      t.base = this;
    }
    if (stopped) {
      throw new IllegalStateException("timer base " + name + " is closed");
    }
    long s = t.acquireBusy();
    arm(t, s, expires);
    return was | (s & TimerList.ARMED) != 0;
  }

  /**
   * {@code add_timer}: arms {@code t}, which is not armed, for {@code expires}, with one write
   * of its state (no BUSY section): a release store if the timer is idle, else a CAS. The
   * caller must be the timer's only arming party (a {@code DelayedWork}'s PENDING owner is:
   * nobody else arms its timer until it is disarmed); {@link #reschedule} may race with it, as
   * it only moves armed timers and never writes an unarmed state.
   *
   * @throws IllegalStateException if the timer is armed or the base is closed
   */
  public void add(TimerList t, long expires) {
    if (t.base != this) {
      mod(t, expires); // first arming here: the general path moves it over
      return;
    }
    if (stopped) {
      throw new IllegalStateException("timer base " + name + " is closed");
    }
    long s = t.settledState();
    if ((s & TimerList.ARMED) != 0) {
      throw new IllegalStateException("add of an armed timer " + t);
    }
    // Written before the state write that arms (after the check: a drainer may be placing the
    // armed state's deadline): a reader takes expires only together with an armed state, and
    // this arming's state is the first that makes the new value current.
    t.setExpires(expires);
    if ((s & (TimerList.QUEUED | TimerList.RUNNING)) == 0) {
      // An idle word has no writer but an arming party: cancels need ARMED, the drainer
      // QUEUED, the thread RUNNING, and reschedule leaves an unarmed timer alone. The caller is
      // the only arming party, so a release store arms it (the push's CAS then fences).
      t.storeState(armedState(s));
    } else {
      while (!t.casState(s, armedState(s))) {
        s = t.settledState(); // QUEUED or RUNNING changed; nobody else arms (the precondition)
        if ((s & TimerList.ARMED) != 0) {
          throw new IllegalStateException("add raced with another arming of " + t);
        }
      }
    }
    armed(t, s, expires);
  }

  /**
   * {@link #add} {@code delayNanos} from now (negative delays count as 0, huge ones saturate),
   * with the same precondition: the caller is the timer's only arming party.
   *
   * <p>While armings come fast, an idle timer's arming for {@link #DEFER_MIN_NANOS} or more is
   * deferred: it reads no clock, never fires early, and may fire up to one stamp period later
   * than one that did (see "Deferred armings" in the class comment).
   *
   * @throws IllegalStateException if the timer is armed or the base is closed
   */
  public void addAfter(TimerList t, long delayNanos) {
    long d = Math.max(0, Math.min(delayNanos, TimerWheel.MAX_DELAY_NANOS));
    TimerBase b = t.base;
    if (d >= deferMinNanos && stamping && (b == this || b == null) && !stopped) {
      long s = t.settledState();
      if ((s & (TimerList.ARMED | TimerList.QUEUED | TimerList.RUNNING)) == 0) {
        if (b == null) {
          t.base = this; // never armed before: nothing to move it from (mod does the same)
        }
        // An idle word (see add): the caller, the only arming party, is its only writer. The
        // delay is current from the state write on, which is the first to make it an arming.
        t.setExpires(d);
        t.storeState(armedState(s) | TimerList.DEFERRED);
        long before = lastStamp; // a time before this arming: its deadline is no earlier than
        push(t, before + d);     // before + d, which is all that placement needs to know
        stampBy(lastStamp + STAMP_NANOS); // the stamp after the latest one covers it
        return;
      }
    }
    add(t, System.nanoTime() + d);
  }

  /**
   * Moves an armed timer to {@code expires} in one step; does nothing if it is not armed here.
   *
   * @return true if it was armed and has been moved
   */
  public boolean reschedule(TimerList t, long expires) {
    if (t.base != this) {
      return false;
    }
    long s = t.acquireBusyIfArmed(); // never writes an unarmed word: add relies on that
    if (s == TimerList.NOT_ARMED) {
      return false;
    }
    if (t.base != this) {
      t.storeState(s);
      return false;
    }
    arm(t, s, expires);
    return true;
  }

  /** Ends a BUSY section taken from state {@code s}: the new arming's deadline and generation. */
  private void arm(TimerList t, long s, long expires) {
    t.setExpires(expires);
    t.storeState(armedState(s));
    armed(t, s, expires);
  }

  /** The state of a new arming made from state {@code s}: next generation, ARMED, QUEUED. */
  private static long armedState(long s) {
    return ((s & ~TimerList.FLAGS) + TimerList.GEN_ONE) | (s & TimerList.RUNNING)
        | TimerList.ARMED | TimerList.QUEUED;
  }

  /** After an arming from state {@code s}: push the timer unless it was queued already. */
  private void armed(TimerList t, long s, long expires) {
    if ((s & TimerList.QUEUED) == 0) {
      push(t, expires);
    } else {
      lookBy(placeBy(expires, 1));
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
    long s = t.disarm(true);
    if ((s & TimerList.ARMED) == 0) {
      return false;
    }
    if ((s & TimerList.QUEUED) == 0) {
      push(t, Long.MAX_VALUE); // so that the wheel lets go of it
    }
    return true;
  }

  /**
   * {@code del_timer_sync}: waits while the timer's function runs (not when called from the
   * function itself), then disarms it as {@link #delete} does. As in the kernel, the disarm
   * happens only once the function is not running, so a function that re-arms its timer is
   * disarmed after it returns, and the answer is about one arming.
   *
   * @return true if it was armed, i.e. this call prevented it from firing
   */
  public boolean deleteSync(TimerList t) {
    if (t.base != this) {
      return false;
    }
    for (;;) {
      long s = t.settledState();
      if ((s & TimerList.RUNNING) != 0 && Thread.currentThread() != thread) {
        awaitNotRunning(t);
        continue;
      }
      if ((s & TimerList.ARMED) == 0) {
        return false;
      }
      // From exactly s: if the thread starts the function meanwhile, this fails and we wait.
      if (t.casState(s, (s & ~TimerList.ARMED) | TimerList.QUEUED)) {
        if ((s & TimerList.QUEUED) == 0) {
          push(t, Long.MAX_VALUE);
        }
        return true;
      }
    }
  }

  private void awaitNotRunning(TimerList t) {
    lock.lock();
    try {
      // RUNNING is cleared under the lock before the signal, so this check cannot miss it.
      while ((t.state & TimerList.RUNNING) != 0) {
        fired.awaitUninterruptibly();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Pushes {@code t}, whose QUEUED bit this caller set, onto the reconcile stack; {@code
   * expires} is its new deadline, or {@link Long#MAX_VALUE} for a disarmed timer. The push onto
   * an empty stack asks for the stack to be taken within {@link #PLACE_DELAY_NANOS}.
   */
  private void push(TimerList t, long expires) {
    TimerList head;
    int depth;
    do {
      head = (TimerList) IsolatedCell.get(stack);
      depth = head == null ? 1 : head.stackDepth + 1; // racy read: an estimate is enough
      t.stackNext = head;
      t.stackDepth = depth;
    } while (!IsolatedCell.compareAndSet(stack, head, t));
    long by = placeBy(expires, depth);
    if (head == null) {
      long now = System.nanoTime();
      firstPushAt = now;
      long late = now + PLACE_DELAY_NANOS;
      if (isEarlier(late, by)) {
        by = late;
      }
    } else if ((depth & (STAMP_CHECK_DEPTH - 1)) == 0 && !stamping) {
      long now = System.nanoTime();
      if (now - firstPushAt < depth * STAMP_START_GAP_NANOS) {
        startStamping(now);
      }
    }
    lookBy(by);
  }

  /** Deferred armings may begin: the thread stamps from {@code now} on, once per period. */
  private void startStamping(long now) {
    lastStamp = now;
    stamping = true;
    stampBy(now + STAMP_NANOS); // the thread's first stamp, or its decision to stop
  }

  /**
   * When the stack must be taken for a timer due at {@code expires} to be placed in time: one
   * tick plus {@link #DRAIN_NANOS_PER_TIMER} for each of the {@code depth} timers to place
   * before it, ahead of the deadline. A burst of armings thus wakes the thread early enough to
   * place them all before the first falls due, and a lone arming asks for nothing sooner than
   * the thread's next tick would bring.
   */
  private static long placeBy(long expires, int depth) {
    if (expires == Long.MAX_VALUE) {
      return expires;
    }
    return expires - TimerWheel.TICK_NANOS - depth * DRAIN_NANOS_PER_TIMER;
  }

  /**
   * The thread must take the stack by {@code when} (nanoTime; {@link Long#MAX_VALUE}: no
   * need): lowers {@link #lookBy} if {@code when} is earlier, and wakes the thread if it sleeps
   * past it. No lost wake-up: the thread publishes {@link #parkedUntil} and then reads lookBy
   * once more before parking, while this lowers lookBy (a CAS) before reading parkedUntil; a
   * time not below lookBy is covered by whichever call set it.
   */
  private void lookBy(long when) {
    long m = lookBy;
    while (isEarlier(when, m) && !LOOK_BY.compareAndSet(this, m, when)) {
      m = lookBy;
    }
    wakeBy(when);
  }

  /**
   * The thread must push a stamp by {@code when}: lowers {@link #stampBy} as {@link #lookBy}
   * lowers its field, with the same wake-up rule (the thread reads both again before parking).
   */
  private void stampBy(long when) {
    long m = stampBy;
    while (isEarlier(when, m) && !STAMP_BY.compareAndSet(this, m, when)) {
      m = stampBy;
    }
    wakeBy(when);
  }

  /** Wakes the thread if it sleeps past {@code when}; one waker claims each wake-up. */
  private void wakeBy(long when) {
    long until = parkedUntil;
    if (until != AWAKE && isEarlier(when, until)
        && PARKED_UNTIL.compareAndSet(this, until, AWAKE)) {
      wakeups.incrementAndGet();
      LockSupport.unpark(thread);
    }
  }

  /** {@code a} is before {@code b} in nanoTime order, {@link Long#MAX_VALUE} meaning never. */
  private static boolean isEarlier(long a, long b) {
    return a != Long.MAX_VALUE && (b == Long.MAX_VALUE || a - b < 0);
  }

  // ---- the lock holders' side ----------------------------------------------------------------

  /**
   * Disarms every armed timer matching {@code filter} and returns them (for example all timers
   * targeting a workqueue that is being destroyed). O(armed timers).
   */
  public List<TimerList> deleteIf(Predicate<TimerList> filter) {
    List<TimerList> found = new ArrayList<>();
    lock.lock();
    try {
      drain();
      wheel.forEach(t -> {
        if (filter.test(t)) {
          found.add(t);
        }
      });
      for (TimerList t : batch) {
        if (filter.test(t)) {
          found.add(t); // expired, not fired yet
        }
      }
      found.removeIf(t -> {
        boolean disarmed = (t.disarm(false) & TimerList.ARMED) != 0;
        if (t.isLinked()) {
          wheel.deschedule(t);
        }
        return !disarmed;
      });
    } finally {
      lock.unlock();
    }
    return found;
  }

  /** {@code t} leaves this base for another: disarmed here and out of the wheel and stack. */
  private boolean evict(TimerList t) {
    lock.lock();
    try {
      boolean was = (t.disarm(false) & TimerList.ARMED) != 0;
      drain(); // clears QUEUED if t was on the stack
      if (t.isLinked()) {
        wheel.deschedule(t);
      }
      return was;
    } finally {
      lock.unlock();
    }
  }

  /** Armed timers (exact when nobody arms or cancels meanwhile). */
  public int size() {
    lock.lock();
    try {
      drain();
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

  /** Whether the thread has published a wake-up time and will not look at the stack again. */
  boolean parked() {
    return parkedUntil != AWAKE;
  }

  /** Passes of the timer thread's loop so far. */
  public long rounds() {
    return rounds.get();
  }

  /** The thread's name. */
  public String name() {
    return name;
  }

  /** Lock held: takes the reconcile stack and reconciles its timers, oldest push first. */
  private void drain() {
    if (IsolatedCell.get(stack) == null) {
      return; // read first: an exchange on an empty stack would only dirty the pushers' line
    }
    lookBy = Long.MAX_VALUE; // before the exchange: later pushes lower it again
    TimerList t = (TimerList) IsolatedCell.getAndSet(stack, null);
    long after = System.nanoTime(); // after the exchange: later than every arming on the chain
    // The chain is newest first. Rather than reverse it (a second pass over cold timers), number
    // it downwards from above every earlier drain: the oldest push gets the lowest number.
    seq += 1L << 32;
    for (long order = seq; t != null; order--) {
      TimerList n = t.stackNext;
      t.stackNext = null; // before QUEUED is cleared: then the timer may be pushed again
      if (t instanceof Stamp) {
        after = ((Stamp) t).time; // the armings below it were made before this reading
        stampPool.push((Stamp) t);
      } else {
        reconcile(t, order, after);
      }
      t = n;
    }
  }

  /**
   * Lock held: pushes a stamp onto the stack and then reads the clock into it, a time after
   * every arming below the stamp ({@link #addAfter}). Nothing to stamp on an empty stack: a
   * drain has placed the deferred armings, with its own later reading.
   */
  private void stamp() {
    stampBy = Long.MAX_VALUE; // before the push: deferred armings above the stamp ask again
    if (IsolatedCell.get(stack) == null) {
      return; // only drainers empty the stack, and they hold the lock: it stays non-empty below
    }
    Stamp st = stampPool.poll();
    if (st == null) {
      st = new Stamp();
    }
    TimerList head;
    do {
      head = (TimerList) IsolatedCell.get(stack);
      st.stackNext = head;
      st.stackDepth = head.stackDepth + 1;
    } while (!IsolatedCell.compareAndSet(stack, head, st));
    long now = System.nanoTime();
    st.time = now; // before any drainer can see the stamp: they hold the lock, as we do
    lastStamp = now;
  }

  /**
   * Lock held: takes {@code t} off the stack (clears QUEUED) and places it as its state says; a
   * deferred arming at {@code after}, a clock reading known to follow it, plus its delay.
   */
  private void reconcile(TimerList t, long order, long after) {
    long s;
    long e;
    do {
      s = t.settledState();
      e = t.expires(); // the CAS below succeeds only if no arming began since s: e is s's deadline
    } while (!t.casState(s, s & ~TimerList.QUEUED));
    boolean armed = (s & TimerList.ARMED) != 0 && t.base == this;
    long gen = TimerList.genOf(s);
    if (t.isLinked()) {
      if (armed && t.linkedGen == gen) {
        return; // already placed for this arming
      }
      wheel.deschedule(t);
    }
    if (armed) {
      if ((s & TimerList.DEFERRED) != 0) {
        e += after;
        deferredPlaced++;
      }
      t.when = e;
      t.linkedGen = gen;
      t.seq = order;
      wheel.schedule(t);
    }
  }

  private void run() {
    lock.lock();
    try {
      while (!stopped) {
        parkedUntil = AWAKE;
        rounds.incrementAndGet();
        long now = System.nanoTime();
        if (!isEarlier(now, stampBy)) {
          stamp(); // deferred armings wait for a clock reading taken after them
        } else if (stamping && stampBy == Long.MAX_VALUE
            && !isEarlier(now, lastStamp + STAMP_NANOS)) {
          stamping = false; // a whole period without a deferred arming (a late one asks anyway)
        }
        if (!isEarlier(now, lookBy)) {
          drain(); // not before it is due: a wake-up that only shortened the sleep must not
                   // take the stack, or every following push would wake the thread again
        }
        wheel.advance(now, batch::add);
        if (!batch.isEmpty()) {
          fireBatch();
          continue;
        }
        long next = wheel.nextDeadline();
        long m = lookBy;
        if (isEarlier(m, next)) {
          next = m; // the stack must be taken first: an arming on it is due, or it is old
        }
        long sb = stampBy;
        if (isEarlier(sb, next)) {
          next = sb;
        }
        if (stamping && sb == Long.MAX_VALUE && isEarlier(lastStamp + STAMP_NANOS, next)) {
          next = lastStamp + STAMP_NANOS; // to stop stamping unless a deferred arming comes
        }
        parkedUntil = next;
        if (lookBy != m || stampBy != sb) {
          continue; // lowered after the reads above: that arming may have seen us awake
        }
        lock.unlock();
        // Nothing is locked between publishing parkedUntil and parking, so a waker's unpark
        // cannot be swallowed by a lock acquisition.
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

  /** Lock held: fires the expired batch in deadline order, releasing the lock around each. */
  private void fireBatch() {
    batch.sort(ORDER);
    for (int i = 0; i < batch.size(); i++) {
      TimerList t = batch.get(i);
      if (t.isLinked()) {
        continue; // re-armed and placed again by a drain while an earlier timer fired
      }
      long s = t.settledState();
      boolean run = false;
      while ((s & TimerList.ARMED) != 0 && TimerList.genOf(s) == t.linkedGen
          && t.base == this) {
        if (t.casState(s, (s & ~TimerList.ARMED) | TimerList.RUNNING)) {
          run = true;
          break;
        }
        s = t.settledState();
      }
      if (!run) {
        continue; // cancelled, or re-armed (then it is on the stack and will be placed again)
      }
      lock.unlock();
      try {
        t.fire();
      } catch (Throwable e) {
        LOG.log(Level.WARNING, "timer " + name + ": " + t + " threw", e);
      } finally {
        lock.lock();
      }
      do {
        s = t.settledState();
      } while (!t.casState(s, s & ~TimerList.RUNNING));
      fired.signalAll();
    }
    batch.clear();
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

  /** Deferred armings allowed from now on, as if a burst had been measured (tests). */
  void startStampingNow() {
    startStamping(System.nanoTime());
  }

  /** Whether armings may be deferred at the moment (tests). */
  boolean stamping() {
    return stamping;
  }

  /** Deferred armings ({@link #addAfter}) placed in the wheel so far. */
  public long deferredPlaced() {
    lock.lock();
    try {
      return deferredPlaced;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "TimerBase[" + name + ", armed=" + size() + "]";
  }

  /** A marker on the reconcile stack: the armings below it were made before {@link #time}. */
  private static final class Stamp extends TimerList {
    /** B: the clock reading taken after the stamp was pushed. */
    long time;

    @Override
    protected void fire() {
      throw new AssertionError("a stamp is never armed");
    }
  }
}
