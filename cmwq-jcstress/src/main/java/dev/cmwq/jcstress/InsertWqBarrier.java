package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZI_Result;

/**
 * {@code insert_wq_barrier} / {@code flush_work} against the item's completion: when flush
 * reports that it waited, everything the item wrote is visible to the flusher (the barrier runs
 * after the item and its completion publishes the item's writes).
 */
@JCStressTest
@Description("flush_work that waited sees the item's writes")
@Outcome(id = "true, 1", expect = ACCEPTABLE, desc = "flush waited for the run and sees its write")
@Outcome(id = "false, 0", expect = ACCEPTABLE, desc = "flush found the item idle (not queued yet)")
@Outcome(id = "false, 1", expect = ACCEPTABLE, desc = "the item had run already when flush looked")
@Outcome(id = "true, 0", expect = FORBIDDEN, desc = "flush waited but missed the item's write")
@State
public class InsertWqBarrier {
  static final Workqueue WQ = Shared.SYS.workqueue("jcs_barrier").build();

  /** Plain on purpose: flush must publish it. */
  int x;
  final Work work = new Work(() -> x = 1);

  @Actor
  public void queue() {
    WQ.queueWork(work);
  }

  @Actor
  public void flush(ZI_Result r) {
    r.r1 = work.flush();
    r.r2 = x;
  }
}
