package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
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
 * The lock-free {@code kthread_queue_work} of an item the worker already owns (claim CAS, inbox
 * push; {@link KthreadCancelWorkSync}'s fresh item takes the locked first-queueing path) against
 * {@code kthread_cancel_work_sync}, which must wait out an item that is claimed but not yet
 * pushed and then take it off the list. An accepted item is cancelled or runs exactly once, and
 * the item ends idle. The item is idle, not running, when the actors start, so the cancel never
 * blocks queueing here. The first version failed it ({@code true, true, 1}: a cancel that read
 * the state twice reset a claimed item to idle, and the queuer's push then added a copy).
 */
@JCStressTest
@Description("lock-free kthread_queue_work vs kthread_cancel_work_sync")
@Outcome(id = "true, true, 0", expect = ACCEPTABLE, desc = "queued, then cancelled")
@Outcome(id = "true, false, 1", expect = ACCEPTABLE,
    desc = "cancelled while idle (or after the run), then it ran once")
@Outcome(expect = FORBIDDEN, desc = "lost, run twice, run although cancelled, or left pending")
@State
public class KthreadQueueVsCancel {
  final AtomicInteger runs = new AtomicInteger();
  final KthreadWork work = new KthreadWork(runs::incrementAndGet);

  public KthreadQueueVsCancel() {
    Shared.KTHREAD.queueWork(work); // first queueing records the owner (locked path)
    work.flush();
    runs.set(0);
  }

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
    r.r3 = work.isPending() ? -1 : runs.get(); // -1: left pending after the flush
  }
}
