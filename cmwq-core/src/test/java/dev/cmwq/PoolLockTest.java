package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The unbound pools' adaptive spinning lock ({@link PoolLock.Adaptive}). */
class PoolLockTest {

  /** Mutual exclusion through every path: fast, spinning with backoff, and parked. */
  @Test
  void adaptiveLock_excludesUnderContention_andLosesNoUpdate() throws Exception {
    PoolLock.Adaptive lock = new PoolLock.Adaptive("test");
    int threads = 4;
    int rounds = 100_000;
    long[] counter = new long[1];
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread th = new Thread(() -> {
        for (int i = 0; i < rounds; i++) {
          lock.lock();
          try {
            long v = counter[0];
            if ((i & 1023) == 0) {
              Thread.yield(); // now and then a long hold, so that waiters park too
            }
            counter[0] = v + 1;
          } finally {
            lock.unlock();
          }
        }
      });
      ts.add(th);
      th.start();
    }
    for (Thread th : ts) {
      th.join(TimeUnit.SECONDS.toMillis(60));
      assertThat(th.isAlive()).as("finished").isFalse();
    }
    lock.lock();
    try {
      assertThat(counter[0]).isEqualTo((long) threads * rounds);
    } finally {
      lock.unlock();
    }
    assertThat(lock.spinBudget)
        .isBetween(PoolLock.Adaptive.MIN_BUDGET, PoolLock.Adaptive.MAX_BUDGET);
  }

  /**
   * The budget halves each time a waiter had to park (down to the floor) and doubles each time
   * a spin got the lock (up to the cap).
   */
  @Test
  void adaptiveLock_budgetHalvesAfterAParkAndDoublesAfterASuccessfulSpin() throws Exception {
    PoolLock.Adaptive lock = new PoolLock.Adaptive("test");
    int budget = lock.spinBudget;
    for (int round = 0; round < 4; round++) {
      lock.lock(); // held until the waiter has parked: its spin cannot succeed
      Thread waiter = new Thread(() -> {
        lock.lock();
        lock.unlock();
      });
      waiter.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!lock.isQueued(waiter)) {
        assertThat(System.nanoTime()).as("waiter parks").isLessThan(deadline);
        Thread.sleep(1);
      }
      lock.unlock();
      waiter.join(TimeUnit.SECONDS.toMillis(30));
      budget = Math.max(PoolLock.Adaptive.MIN_BUDGET, budget >> 1);
      assertThat(lock.spinBudget).as("after park %d", round).isEqualTo(budget);
    }
    assertThat(budget).isEqualTo(PoolLock.Adaptive.MIN_BUDGET);
    // A spin that finds the lock free takes it at its first look.
    for (int round = 0; round < 8; round++) {
      lock.blockingAcquire();
      lock.unlock();
      budget = Math.min(PoolLock.Adaptive.MAX_BUDGET, budget << 1);
      assertThat(lock.spinBudget).as("after spin %d", round).isEqualTo(budget);
    }
    assertThat(budget).isEqualTo(PoolLock.Adaptive.MAX_BUDGET);
  }
}
