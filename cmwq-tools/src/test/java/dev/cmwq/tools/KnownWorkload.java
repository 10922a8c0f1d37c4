package dev.cmwq.tools;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import java.util.concurrent.CountDownLatch;

/**
 * A child JVM with a workload whose statistics are known exactly, for the monitor and dump
 * tests: 1000 finished items on {@code child_known}, one item blocked forever on
 * {@code child_busy}, 5 finished items on the MEM_RECLAIM {@code child_reclaim}. Prints
 * {@code READY} and lives until its standard input closes.
 */
public final class KnownWorkload {
  private KnownWorkload() {}

  public static void main(String[] args) throws Exception {
    WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).name("child").build();
    Workqueue known = sys.workqueue("child_known").build();
    for (int i = 0; i < 1000; i++) {
      known.queueWork(new Work(() -> { }));
    }
    known.flush();
    Workqueue reclaim = sys.workqueue("child_reclaim").unbound().memReclaim().build();
    for (int i = 0; i < 5; i++) {
      reclaim.queueWork(new Work(() -> { }));
    }
    reclaim.flush();
    CountDownLatch never = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    sys.workqueue("child_busy").build().queueWork(new Work(() -> {
      started.countDown();
      try {
        never.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    started.await();
    // Statistics count an item when it completes: wait until the counters have settled.
    while (known.stats().completed() < 1000 || reclaim.stats().completed() < 5) {
      Thread.sleep(5);
    }
    System.out.println("READY");
    System.out.flush();
    while (System.in.read() >= 0) {
      // until the parent closes our stdin
    }
    System.exit(0);
  }
}
