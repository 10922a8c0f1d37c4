package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.kthread.KthreadDelayedWork;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZI_Result;

/**
 * The lock-free {@code kthread_queue_work} of an owned delayed item against
 * {@code kthread_mod_delayed_work(..., 0)}, which re-queues whatever state the item is in: the
 * mod either moves the instance the queuer added (one run, both true) or queues it first (the
 * queueing is refused), never adds a second one. When a queuer's claim lands between the mod's
 * look at the state and its change, the mod must take that instance back after its push. The
 * first version failed it, and hung, when the mod read the state twice.
 */
@JCStressTest
@Description("lock-free kthread_queue_work vs kthread_mod_delayed_work(0)")
@Outcome(id = "true, true, 1", expect = ACCEPTABLE, desc = "queued; the mod moved it: one run")
@Outcome(id = "false, false, 1", expect = ACCEPTABLE, desc = "the mod queued it; queueing refused")
@Outcome(id = "true, false, 2", expect = ACCEPTABLE, desc = "one ran before the other queued it")
@Outcome(expect = FORBIDDEN, desc = "lost, duplicated, or a result that contradicts the runs")
@State
public class KthreadQueueVsMod {
  final AtomicInteger runs = new AtomicInteger();
  final KthreadDelayedWork work = new KthreadDelayedWork(runs::incrementAndGet);

  public KthreadQueueVsMod() {
    Shared.KTHREAD.queueDelayedWork(work, Duration.ZERO); // records the owner
    work.flush();
    runs.set(0);
  }

  @Actor
  public void queue(ZZI_Result r) {
    r.r1 = Shared.KTHREAD.queueWork(work);
  }

  @Actor
  public void mod(ZZI_Result r) {
    r.r2 = Shared.KTHREAD.modDelayedWork(work, Duration.ZERO);
  }

  @Arbiter
  public void arbiter(ZZI_Result r) {
    Shared.KTHREAD.flush();
    r.r3 = runs.get();
  }
}
