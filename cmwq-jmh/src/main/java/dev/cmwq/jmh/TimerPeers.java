package dev.cmwq.jmh;

import dev.cmwq.BenchAccess;
import dev.cmwq.DelayedWork;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import io.netty.util.HashedWheelTimer;
import io.netty.util.Timeout;
import io.netty.util.TimerTask;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The timer implementations compared by benchmarks 6 and 7 of docs/benchmarks.md, behind one
 * shape: {@code n} timers indexed 0..n-1 that can be armed, re-armed and cancelled.
 */
abstract class TimerPeers {
  final String name;

  TimerPeers(String name) {
    this.name = name;
  }

  /** Arms (or re-arms) timer {@code i} for {@code delayNanos}. */
  abstract void arm(int i, long delayNanos);

  /** Re-arms timer {@code i} the idiomatic way of the implementation. */
  abstract void rearm(int i, long delayNanos);

  /** Cancels timer {@code i}. */
  abstract void cancel(int i);

  /**
   * Arms timer {@code i} for {@code delays[i]} (or {@code durations[i]}, the same delay for an
   * API that takes a {@link Duration}), for every i. Each side has its own loop, so that its
   * calls are compiled for that side alone: one loop shared by the three sides would see three
   * receiver types and make every call virtual, by a different amount on each JDK.
   */
  abstract void armAll(long[] delays, Duration[] durations);

  /** Cancels timers 0..n-1, in a loop of the side's own (see {@link #armAll}). */
  abstract void cancelAll();

  /**
   * Finishes the work the implementation deferred to its own thread (placing and dropping the
   * timers armed and cancelled so far), so that it neither overlaps the next side's timed round
   * nor goes uncounted: the benchmarks time it separately. Nothing for STPE, which does all its
   * work in the caller.
   */
  void settle() {}

  /** Timer-thread wake-ups caused by arming so far (0 when not observable). */
  long wakeups() {
    return 0;
  }

  abstract void close();

  static TimerPeers create(String name, int n, Runnable task) {
    switch (name) {
      case "cmwq":
        return new Cmwq("cmwq", n, task);
      case "cmwqDuration":
        return new CmwqDuration(n, task);
      case "stpe":
        return new Stpe(n, task);
      case "netty":
        return new Netty(n, task);
      default:
        throw new IllegalArgumentException(
            "peer: " + name + " (expected: cmwq, cmwqDuration, stpe, netty)");
    }
  }

  /** Duration objects for delays, created once (the caller's, as a real user would keep them). */
  static Duration duration(long nanos) {
    return Duration.ofNanos(nanos);
  }

  /**
   * cmwq: embedded {@link DelayedWork} items re-armed with {@code modDelayedWork}; {@link #armAll}
   * passes the delays as the peers get them, a number and a {@link TimeUnit}.
   */
  static class Cmwq extends TimerPeers {
    final WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).build();
    final Workqueue wq = sys.system();
    final DelayedWork[] items;

    Cmwq(String name, int n, Runnable task) {
      super(name);
      items = new DelayedWork[n];
      for (int i = 0; i < n; i++) {
        items[i] = new DelayedWork(task);
      }
    }

    /** A fresh Duration: the engine converts it to a deadline and does not keep it. */
    private static Duration d(long nanos) {
      return duration(nanos);
    }

    @Override
    void arm(int i, long delayNanos) {
      wq.queueDelayedWork(items[i], d(delayNanos));
    }

    void arm(int i, Duration d) {
      wq.queueDelayedWork(items[i], d);
    }

    @Override
    void rearm(int i, long delayNanos) {
      wq.modDelayedWork(items[i], d(delayNanos));
    }

    void rearm(int i, Duration d) {
      wq.modDelayedWork(items[i], d);
    }

    @Override
    void armAll(long[] delays, Duration[] durations) {
      DelayedWork[] a = items;
      for (int i = 0; i < a.length; i++) {
        wq.queueDelayedWork(a[i], delays[i], TimeUnit.NANOSECONDS);
      }
    }

    @Override
    void cancelAll() {
      for (DelayedWork dw : items) {
        dw.cancel();
      }
    }

    void cancelAndQueue(int i, Duration d) {
      items[i].cancel();
      wq.queueDelayedWork(items[i], d);
    }

    @Override
    void cancel(int i) {
      items[i].cancel();
    }

    @Override
    long wakeups() {
      return BenchAccess.timerWakeups(sys);
    }

    /** Takes the timer base's reconcile stack in the caller (what the timer thread would do). */
    @Override
    void settle() {
      BenchAccess.armedTimers(sys);
    }

    @Override
    void close() {
      for (DelayedWork dw : items) {
        dw.cancel();
      }
      sys.close();
    }
  }

  /**
   * cmwq armed with the caller's {@link Duration} objects, one per timer (the API's other form):
   * the same engine, plus a read of a separate object per arming.
   */
  static final class CmwqDuration extends Cmwq {
    CmwqDuration(int n, Runnable task) {
      super("cmwqDuration", n, task);
    }

    @Override
    void armAll(long[] delays, Duration[] durations) {
      DelayedWork[] a = items;
      for (int i = 0; i < a.length; i++) {
        wq.queueDelayedWork(a[i], durations[i]);
      }
    }
  }

  /** ScheduledThreadPoolExecutor(1) with removeOnCancel, as benchmarks.md prescribes. */
  static final class Stpe extends TimerPeers {
    final ScheduledThreadPoolExecutor stpe = new ScheduledThreadPoolExecutor(1);
    final ScheduledFuture<?>[] futures;
    final Runnable task;

    Stpe(int n, Runnable task) {
      super("stpe");
      this.task = task;
      stpe.setRemoveOnCancelPolicy(true);
      futures = new ScheduledFuture<?>[n];
    }

    @Override
    void arm(int i, long delayNanos) {
      futures[i] = stpe.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    void rearm(int i, long delayNanos) {
      ScheduledFuture<?> f = futures[i];
      if (f != null) {
        f.cancel(false);
      }
      futures[i] = stpe.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    void cancel(int i) {
      ScheduledFuture<?> f = futures[i];
      if (f != null) {
        f.cancel(false);
        futures[i] = null;
      }
    }

    @Override
    void armAll(long[] delays, Duration[] durations) {
      ScheduledFuture<?>[] f = futures;
      for (int i = 0; i < f.length; i++) {
        f[i] = stpe.schedule(task, delays[i], TimeUnit.NANOSECONDS);
      }
    }

    @Override
    void cancelAll() {
      ScheduledFuture<?>[] f = futures;
      for (int i = 0; i < f.length; i++) {
        f[i].cancel(false);
        f[i] = null;
      }
    }

    @Override
    void close() {
      stpe.shutdownNow();
    }
  }

  /** Netty's HashedWheelTimer, 10 ms x 512 (its defaults). */
  static final class Netty extends TimerPeers {
    final HashedWheelTimer timer = new HashedWheelTimer(r -> {
      Thread t = new Thread(r, "netty-wheel");
      t.setDaemon(true);
      return t;
    }, 10, TimeUnit.MILLISECONDS, 512);
    final Timeout[] timeouts;
    final TimerTask task;

    Netty(int n, Runnable r) {
      super("netty");
      timeouts = new Timeout[n];
      task = t -> r.run();
    }

    @Override
    void arm(int i, long delayNanos) {
      timeouts[i] = timer.newTimeout(task, delayNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    void rearm(int i, long delayNanos) {
      Timeout t = timeouts[i];
      if (t != null) {
        t.cancel();
      }
      timeouts[i] = timer.newTimeout(task, delayNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    void cancel(int i) {
      Timeout t = timeouts[i];
      if (t != null) {
        t.cancel();
        timeouts[i] = null;
      }
    }

    @Override
    void armAll(long[] delays, Duration[] durations) {
      Timeout[] t = timeouts;
      for (int i = 0; i < t.length; i++) {
        t[i] = timer.newTimeout(task, delays[i], TimeUnit.NANOSECONDS);
      }
    }

    @Override
    void cancelAll() {
      Timeout[] t = timeouts;
      for (int i = 0; i < t.length; i++) {
        t[i].cancel();
        t[i] = null;
      }
    }

    /** Waits for the wheel's thread to process every cancellation (it does so once a tick). */
    @Override
    void settle() {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (timer.pendingTimeouts() > 0) {
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("netty wheel did not settle: " + timer.pendingTimeouts());
        }
        LockSupport.parkNanos(50_000);
      }
    }

    @Override
    void close() {
      timer.stop();
    }
  }
}
