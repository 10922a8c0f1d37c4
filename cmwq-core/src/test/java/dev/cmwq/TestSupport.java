package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.function.BooleanSupplier;

/**
 * Shared rules for the engine tests (after JSR166TestCase): named timeouts that are generous for
 * a loaded 2-core machine, condition waits instead of fixed sleeps, and the invariant check
 * run against every system a test closes.
 */
public final class TestSupport {
  /** Long enough for anything that should happen "soon" on a loaded machine. */
  static final Duration LONG = Duration.ofSeconds(30);

  private TestSupport() {}

  /** A 2-CPU system with a short idle timeout, as most tests use. */
  static WorkqueueSystem newSystem() {
    return WorkqueueSystem.builder().cpus(2).build();
  }

  /** Waits until {@code cond} holds, failing with {@code what} after {@link #LONG}. */
  static void await(String what, BooleanSupplier cond) {
    long deadline = System.nanoTime() + LONG.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for: " + what);
      }
      Thread.onSpinWait();
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** Keeps the CPU busy for {@code millis} of wall time. */
  static void burn(long millis) {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    long x = 1;
    while (System.nanoTime() < deadline) {
      x = x * 6364136223846793005L + 1442695040888963407L;
    }
    if (x == 0) {
      System.out.print("");
    }
  }

  /** Sleeps {@code millis} through {@link Workqueues#managedBlock}. */
  static void managedSleep(long millis) {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    try {
      Workqueues.managedBlock(new ForkJoinPool.ManagedBlocker() {
        @Override
        public boolean block() throws InterruptedException {
          long left = deadline - System.nanoTime();
          if (left > 0) {
            Thread.sleep(left / 1_000_000L, (int) (left % 1_000_000L));
          }
          return System.nanoTime() >= deadline;
        }

        @Override
        public boolean isReleasable() {
          return System.nanoTime() >= deadline;
        }
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Plain sleep, seen only by the sampling tick. */
  static void plainSleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The quiescent-state invariants of every pool and pwq ({@code reference §3.10}): waits for
   * the system to go idle, then checks and returns the violations ({@link Invariants}).
   */
  static List<String> invariantViolations(WorkqueueSystem sys) {
    return Invariants.quiescentViolations(sys, LONG);
  }

  /** Checks the invariants, then closes the system and checks the release bookkeeping. */
  static void closeAndCheck(WorkqueueSystem sys) {
    try {
      assertThat(invariantViolations(sys)).isEmpty();
    } finally {
      sys.close();
    }
    assertThat(sys.releasesOffThread.get()).as("pwq releases off pool_workqueue_release").isZero();
    assertThat(sys.releasesUnderPoolLock.get()).as("pwq releases under a pool lock").isZero();
  }

  /** Runs {@code r}, returning what it threw, or null. */
  public static Throwable catching(Runnable r) {
    try {
      r.run();
      return null;
    } catch (Throwable t) {
      return t;
    }
  }

  /** Names of live threads starting with {@code prefix}. */
  static List<String> threads(String prefix) {
    List<String> names = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive() && t.getName().startsWith(prefix)) {
        names.add(t.getName());
      }
    }
    return names;
  }
}
