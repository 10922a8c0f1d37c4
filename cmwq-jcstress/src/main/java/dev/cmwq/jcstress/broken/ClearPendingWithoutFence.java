package dev.cmwq.jcstress.broken;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZI_Result;

/**
 * A deliberately broken model of {@code SetWorkPoolAndClearPending}, never run in the product:
 * the worker clears PENDING with a release store instead of a full fence, so its following read
 * may be satisfied before the clear is visible (store-load reordering). This test is expected
 * to FAIL: it shows that the jcstress setup catches the lost wake-up that the real code's
 * {@code getAndSet} prevents. CI runs it separately and requires the failure.
 */
@JCStressTest
@Description("BROKEN on purpose: clearing PENDING without a full fence loses wake-ups")
@Outcome(id = "true, 0", expect = ACCEPTABLE, desc = "re-queued after the clear")
@Outcome(id = "true, 1", expect = ACCEPTABLE, desc = "re-queued; this run saw the data too")
@Outcome(id = "false, 1", expect = ACCEPTABLE, desc = "coalesced; the run saw the data")
@Outcome(id = "false, 0", expect = FORBIDDEN, desc = "lost wake-up (expected here: the fence is missing)")
@State
public class ClearPendingWithoutFence {
  private static final long PENDING = 1;
  private static final VarHandle WORD;

  static {
    try {
      WORD = MethodHandles.lookup().findVarHandle(ClearPendingWithoutFence.class, "word",
          long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** The data word, queued: PENDING set. */
  volatile long word = PENDING;
  int data;

  @Actor
  public void worker(ZI_Result r) {
    WORD.setRelease(this, 0L); // the bug: no store-load fence before reading the item's data
    r.r2 = data;
  }

  @Actor
  public void queuer(ZI_Result r) {
    data = 1;
    r.r1 = ((long) WORD.getAndBitwiseOr(this, PENDING) & PENDING) == 0;
  }
}
