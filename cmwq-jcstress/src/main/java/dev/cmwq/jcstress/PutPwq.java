package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueAttrs;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZI_Result;

/**
 * {@code put_pwq} / {@code pwq_release_workfn} against {@code __queue_work}: an unbound
 * workqueue's attributes are replaced (its old pwq loses its base reference and is released on
 * {@code pool_workqueue_release} once drained) while an item is queued. The queue never lands on
 * a released pwq: the item is accepted and runs exactly once.
 */
@JCStressTest
@Description("apply_workqueue_attrs (pwq release) vs queue_work: accepted and run once")
@Outcome(id = "true, 1", expect = ACCEPTABLE, desc = "queued on a live pwq, ran once")
@Outcome(expect = FORBIDDEN, desc = "rejected, lost or run twice")
@State
public class PutPwq {
  static final Workqueue WQ = Shared.SYS.workqueue("jcs_pwq").unbound().build();
  static final WorkqueueAttrs[] ATTRS = {WorkqueueAttrs.defaults(),
      WorkqueueAttrs.defaults().withNice(1)};
  static final AtomicInteger FLIP = new AtomicInteger();

  final AtomicInteger runs = new AtomicInteger();
  final Work work = new Work(runs::incrementAndGet);

  @Actor
  public void applyAttrs() {
    WQ.applyAttrs(ATTRS[FLIP.incrementAndGet() & 1]);
  }

  @Actor
  public void queue(ZI_Result r) {
    r.r1 = WQ.queueWork(work);
  }

  @Arbiter
  public void arbiter(ZI_Result r) {
    work.flush();
    r.r2 = runs.get();
  }
}
