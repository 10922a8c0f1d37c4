package dev.cmwq;

import java.util.function.BooleanSupplier;

/**
 * The idle poll of a worker thread that has just run out of items: before parking it watches
 * for a wake-up for a while, so that an item queued soon after costs its queuer no unpark (a
 * futex call, 2–5 µs here) and itself no scheduler round trip (5–60 µs on a virtual machine
 * whose other vCPU has halted). A JVM adaptation: the kernel's workers sleep at once because
 * its wake-ups are cheap. Used by pool workers ({@code Worker.idleWait}) and kthread workers
 * ({@code KthreadWorker.idleWait}); public because both packages share it, not part of the API.
 *
 * <p>The poll spins. A poller that always yielded looked better in burst benchmarks but is
 * wrong: it stays runnable, so a thread on its CPU that queues an item and keeps computing no
 * longer lets the woken worker preempt it, and the item waits for that thread's time slice to
 * end (a thread queueing every 20 µs saw its items coalesce: 3 000 runs in 2 s instead of
 * 20 000). A spinning poller instead takes its CPU from such a thread for at most the poll,
 * and its owner shortens the poll when the wake-ups it gets come from its own CPU. Only a
 * worker whose same-CPU queuer outpaces its wake-ups yields ({@link #yieldPoll}), where the
 * preemptions cost more than the latency they save.
 *
 * <p>The poll's length adapts between {@link #MIN_NANOS} and the maximum: it doubles when a
 * poll catches a wake-up or the worker is woken soon after it parked (within twice the longest
 * poll: a longer poll would have caught it), and halves when the worker stayed parked longer,
 * so a worker whose items come rarely stops spending CPU on polls.
 *
 * <p>Owned by one worker thread (code S: only that thread uses the mutable field); the wake-up
 * it watches belongs to its caller's protocol.
 */
public final class IdleSpin {
  /** The shortest poll the length shrinks to (ns), unless the maximum is shorter. */
  public static final long MIN_NANOS = 1_000;

  /** I: the longest poll (ns); 0 turns polling off. */
  private final long maxNanos;
  /** S: the next poll's length (ns). */
  private long limitNanos;

  /** A poll of at most {@code maxNanos} (0: never poll), starting at the maximum. */
  public IdleSpin(long maxNanos) {
    this.maxNanos = maxNanos;
    this.limitNanos = maxNanos;
  }

  /** Whether polling is on at all. */
  public boolean enabled() {
    return maxNanos > 0;
  }

  /** The next poll's length (ns; tests). */
  public long limitNanos() {
    return limitNanos;
  }

  /**
   * Watches {@code woken} for up to the current length; true as soon as it holds, false when the
   * time is up. The caller must read its wake-up state with at least
   * opaque semantics, so that the read is repeated.
   */
  public boolean poll(BooleanSupplier woken) {
    long nanos = limitNanos;
    long start = System.nanoTime();
    for (int i = 1; !woken.getAsBoolean(); i++) {
      Thread.onSpinWait();
      if ((i & 31) == 0 && System.nanoTime() - start >= nanos) {
        return false;
      }
    }
    return true;
  }

  /**
   * As {@link #poll}, but yields the CPU between reads, for up to the longest poll: for a worker
   * whose queuer shares its CPU and outpaces its wake-ups ({@code Worker.idleWait}). A yield
   * returns at once when nothing else wants the CPU, or only once the other thread has blocked
   * or used its time slice, so one read may come that late; it is still made before giving up.
   */
  public boolean yieldPoll(BooleanSupplier woken) {
    long start = System.nanoTime();
    do {
      Thread.yield();
      if (woken.getAsBoolean()) {
        return true;
      }
    } while (System.nanoTime() - start < maxNanos);
    return false;
  }

  /** A poll (or the step right after it) caught a wake-up: poll longer next time. */
  public void caught() {
    limitNanos = Math.min(maxNanos, limitNanos << 1);
  }

  /**
   * A poll missed and the worker parked; {@code untilWakeNanos} later it was woken (measured to
   * the waker's call where the caller knows it, so that wake-up latency does not count; {@link
   * Long#MAX_VALUE} for a wake-up that no poll could have caught).
   */
  public void parked(long untilWakeNanos) {
    if (untilWakeNanos < 2 * maxNanos) {
      caught(); // a longer poll would have caught it
    } else {
      limitNanos = Math.max(Math.min(MIN_NANOS, maxNanos), limitNanos >> 1);
    }
  }
}
