package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.timer.TimerBase;
import dev.cmwq.timer.TimerList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZI_Result;

/**
 * {@code mod_timer} (re-arming a far timer to fire now, under its BUSY bit) against
 * {@code del_timer}, both without the base lock. Every arming ends exactly once: the mod
 * reports whether it replaced an arming, the delete whether it ended one, and the function
 * runs for an arming nobody ended (or the arbiter disarms it). A placement of the far arming that fired, or a mod that lost
 * the delete's change, breaks the sum.
 */
@JCStressTest
@Description("lock-free mod_timer vs del_timer on an armed timer")
@Outcome(id = "true, true, 0", expect = ACCEPTABLE, desc = "moved, then disarmed before it fired")
@Outcome(id = "true, false, 1", expect = ACCEPTABLE, desc = "moved; fired before the delete")
@Outcome(id = "false, true, 1", expect = ACCEPTABLE, desc = "disarmed, then armed anew: fired or "
    + "disarmed by the arbiter")
@Outcome(expect = FORBIDDEN, desc = "an arming lost or ended twice")
@State
public class TimerModVsDelete {
  final AtomicInteger runs = new AtomicInteger();
  final TimerList timer = new TimerList() {
    @Override
    protected void fire() {
      runs.incrementAndGet();
    }
  };

  public TimerModVsDelete() {
    TimerBase.shared().mod(timer, TimerBase.deadline(TimeUnit.SECONDS.toNanos(60)));
  }

  @Actor
  public void mod(ZZI_Result r) {
    r.r1 = TimerBase.shared().mod(timer, TimerBase.deadline(0));
  }

  @Actor
  public void delete(ZZI_Result r) {
    r.r2 = timer.delete();
  }

  /** r3: armings ended by the function or by this disarm (so the sum is always 2). */
  @Arbiter
  public void arbiter(ZZI_Result r) {
    boolean disarmed = timer.deleteSync(); // waits for a running function
    r.r3 = runs.get() + (disarmed ? 1 : 0);
  }
}
