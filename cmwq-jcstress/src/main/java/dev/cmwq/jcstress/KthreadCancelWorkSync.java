package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.kthread.KthreadWork;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZI_Result;

/**
 * {@code kthread_cancel_work_sync} (its {@code canceling} counter) against
 * {@code kthread_queue_work}: while a cancel is in progress queueing is refused; an accepted item
 * is either cancelled or runs exactly once; after the cancel returns nothing it stole runs.
 */
@JCStressTest
@Description("kthread_queue_work vs kthread_cancel_work_sync: exactly one wins")
@Outcome(id = "true, true, 0", expect = ACCEPTABLE, desc = "queued, then cancelled before it ran")
@Outcome(id = "true, false, 1", expect = ACCEPTABLE, desc = "ran once (queued after the cancel, or it ran first)")
@Outcome(id = "false, false, 0", expect = ACCEPTABLE_INTERESTING,
    desc = "queued while the cancel was in progress: refused (the canceling counter)")
@Outcome(expect = FORBIDDEN, desc = "lost, or run although cancelled")
@State
public class KthreadCancelWorkSync {
  final AtomicInteger runs = new AtomicInteger();
  final KthreadWork work = new KthreadWork(runs::incrementAndGet);

  @Actor
  public void queue(ZZI_Result r) {
    r.r1 = Shared.KTHREAD.queueWork(work);
  }

  @Actor
  public void cancel(ZZI_Result r) {
    r.r2 = work.cancelSync();
  }

  @Arbiter
  public void arbiter(ZZI_Result r) {
    Shared.KTHREAD.flush();
    r.r3 = runs.get();
  }
}
