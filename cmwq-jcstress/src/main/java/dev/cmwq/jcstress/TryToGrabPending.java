package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZI_Result;

/**
 * {@code try_to_grab_pending} (through {@code cancel_work}) against {@code queue_work} on a real
 * workqueue: exactly one of them wins. A queued item is either stolen by the cancel (and never
 * runs) or runs exactly once; a cancel that finds nothing queued reports false.
 */
@JCStressTest
@Description("queue_work vs cancel_work: the item runs once, or the cancel stole it")
@Outcome(id = "true, true, 0", expect = ACCEPTABLE, desc = "queued, then stolen by the cancel")
@Outcome(id = "true, false, 1", expect = ACCEPTABLE, desc = "queued after the cancel, or ran first: runs once")
@Outcome(id = "false, false, 0", expect = ACCEPTABLE_INTERESTING,
    desc = "the cancel held PENDING of the idle item at that instant, so the queue found it pending"
        + " (the kernel's cancel_work grabs PENDING of idle items too)")
@Outcome(id = "true, false, 0", expect = FORBIDDEN, desc = "lost: queued, not cancelled, never ran")
@Outcome(id = "true, true, 1", expect = FORBIDDEN, desc = "ran although the cancel stole it")
@Outcome(expect = FORBIDDEN, desc = "anything else")
@State
public class TryToGrabPending {
  static final Workqueue WQ = Shared.SYS.workqueue("jcs_grab").build();

  final AtomicInteger runs = new AtomicInteger();
  final Work work = new Work(runs::incrementAndGet);

  @Actor
  public void queue(ZZI_Result r) {
    r.r1 = WQ.queueWork(work);
  }

  @Actor
  public void cancel(ZZI_Result r) {
    r.r2 = work.cancel();
  }

  @Arbiter
  public void arbiter(ZZI_Result r) {
    work.flush();
    r.r3 = runs.get();
  }
}
