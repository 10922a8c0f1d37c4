package dev.cmwq.examples;

import dev.cmwq.DelayedWork;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import java.time.Duration;

/**
 * The README's first example, compiled so that it cannot drift from the API, and runnable:
 * {@code java -cp cmwq-core/target/classes:cmwq-examples/target/classes dev.cmwq.examples.Quickstart}.
 */
public final class Quickstart {
  private Quickstart() {}

  /** Entry point. */
  public static void main(String[] args) {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().build()) {
      Workqueue wq = sys.workqueue("mydriver").build();          // alloc_workqueue
      Work work = new Work(() -> handleInterrupt());              // INIT_WORK
      wq.queueWork(work);                                         // queue_work: true if newly queued
      wq.queueWork(work);                                         // false if still pending: coalesced
      work.flush();                                               // flush_work
      work.cancelSync();                                          // cancel_work_sync
      Workqueue log = sys.workqueue("log").ordered().build();     // alloc_ordered_workqueue
      log.execute(() -> write("in order"));                       // any Runnable, as an Executor
      DelayedWork save = new DelayedWork(() -> flushToDisk());    // INIT_DELAYED_WORK
      wq.modDelayedWork(save, Duration.ofMillis(200));            // debounce: re-arm on every change
      save.flush();                                               // (fires it now, for the example)
      log.flush();
    }                                                             // destroys every workqueue
  }

  private static void handleInterrupt() {
    System.out.println("handled on " + Thread.currentThread().getName());
  }

  private static void write(String line) {
    System.out.println("log: " + line);
  }

  private static void flushToDisk() {
    System.out.println("saved");
  }
}
