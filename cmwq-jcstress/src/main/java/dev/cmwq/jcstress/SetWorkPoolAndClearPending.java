package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.JcstressAccess;
import dev.cmwq.Work;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZI_Result;

/**
 * {@code set_work_pool_and_clear_pending} against {@code test_and_set_bit(PENDING)}: the no-lost-
 * wake-up guarantee. A queued item is about to run: the worker clears PENDING (a full fence)
 * and then reads what the item works on; a queuer publishes new data and then tries to set
 * PENDING. If the queuer finds PENDING still set (its queue coalesces into the pending run),
 * that run must see the data. Uses the engine's own {@code Work} methods.
 *
 * <p>The same protocol with the clear done by a release store instead of a full fence is
 * {@code broken.ClearPendingWithoutFence}, where the forbidden outcome shows up.
 */
@JCStressTest
@Description("Coalescing into a pending execution never loses the queuer's data")
@Outcome(id = "true, 0", expect = ACCEPTABLE, desc = "re-queued after the clear; the next run sees the data")
@Outcome(id = "true, 1", expect = ACCEPTABLE, desc = "re-queued; this run saw the data too")
@Outcome(id = "false, 1", expect = ACCEPTABLE, desc = "coalesced; the starting run saw the data")
@Outcome(id = "false, 0", expect = FORBIDDEN, desc = "lost wake-up: coalesced into a run that missed the data")
@State
public class SetWorkPoolAndClearPending {
  final Work work = new Work(() -> { });
  /** Plain on purpose: published only by the PENDING protocol. */
  int data;

  public SetWorkPoolAndClearPending() {
    JcstressAccess.testAndSetPending(work); // the item is queued
  }

  @Actor
  public void worker(ZI_Result r) {
    JcstressAccess.startExecution(work, 0);
    r.r2 = data;
  }

  @Actor
  public void queuer(ZI_Result r) {
    data = 1;
    r.r1 = JcstressAccess.testAndSetPending(work);
  }
}
