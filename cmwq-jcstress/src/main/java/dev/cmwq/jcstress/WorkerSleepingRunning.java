package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.JcstressAccess;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.Workqueues;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * {@code wq_worker_sleeping} / {@code wq_worker_running} against {@code kick_pool}: on a one-CPU
 * system, item A goes through the concurrency-management hooks (a managed block) while item B
 * is queued to the same pool. Both run, and once the pool is quiet its {@code nr_running} is
 * back to 0: never negative, no item stranded with nobody running.
 */
@JCStressTest
@Description("CM hooks vs queueing: no stranded work, nr_running back to 0")
@Outcome(id = "1, 1, 0", expect = ACCEPTABLE, desc = "both ran; the pool is quiet with nr_running 0")
@Outcome(expect = FORBIDDEN, desc = "an item did not run, or nr_running is off")
@State
public class WorkerSleepingRunning {
  static final Workqueue WQ = Shared.ONE_CPU.workqueue("jcs_cm").build();

  final AtomicInteger ranA = new AtomicInteger();
  final AtomicInteger ranB = new AtomicInteger();
  final Work a = new Work(() -> {
    try {
      Workqueues.managedBlock(new ForkJoinPool.ManagedBlocker() {
        boolean blocked;

        @Override
        public boolean block() {
          blocked = true; // a block that ends at once: sleeping hook, then running hook
          return true;
        }

        @Override
        public boolean isReleasable() {
          return blocked;
        }
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    ranA.incrementAndGet();
  });
  final Work b = new Work(ranB::incrementAndGet);

  @Actor
  public void queueA() {
    WQ.queueWorkOn(0, a);
  }

  @Actor
  public void queueB() {
    WQ.queueWorkOn(0, b);
  }

  @Arbiter
  public void arbiter(III_Result r) {
    a.flush();
    b.flush();
    r.r1 = ranA.get();
    r.r2 = ranB.get();
    // The flushes return when the items are done; the worker then goes idle. Wait for that.
    long deadline = System.nanoTime() + 5_000_000_000L;
    int running;
    while ((running = JcstressAccess.nrRunning(Shared.ONE_CPU, 0)) != 0
        || !JcstressAccess.worklistEmpty(Shared.ONE_CPU, 0)) {
      if (running < 0 || System.nanoTime() > deadline) {
        break;
      }
      Thread.onSpinWait();
    }
    r.r3 = running;
  }
}
