package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.timer.TimerBase;
import dev.cmwq.timer.TimerList;
import java.util.concurrent.TimeUnit;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;

/**
 * {@code add_timer} on an idle timer (armed before, disarmed, off the reconcile stack), which
 * arms it with a plain release store, against {@code reschedule} (the fast path of
 * {@code modDelayedWork}), which must leave an unarmed timer's state word untouched: a
 * reschedule that took the BUSY bit on the idle word and stored the old state back would erase
 * the arming.
 */
@JCStressTest
@Description("add_timer's store on an idle timer vs a concurrent reschedule")
@Outcome(id = "false, true", expect = ACCEPTABLE, desc = "reschedule saw it idle; the add armed it")
@Outcome(id = "true, true", expect = ACCEPTABLE, desc = "added, then moved by the reschedule")
@Outcome(expect = FORBIDDEN, desc = "the arming was lost")
@State
public class TimerAddVsReschedule {
  static final long FAR = TimeUnit.SECONDS.toNanos(60);
  final TimerList timer = new TimerList() {
    @Override
    protected void fire() {}
  };

  public TimerAddVsReschedule() {
    TimerBase base = TimerBase.shared();
    base.mod(timer, TimerBase.deadline(FAR)); // now on this base
    timer.delete();
    base.size(); // takes the reconcile stack: the word is idle (not armed, not queued)
  }

  @Actor
  public void add() {
    TimerBase.shared().add(timer, TimerBase.deadline(FAR));
  }

  @Actor
  public void reschedule(ZZ_Result r) {
    r.r1 = TimerBase.shared().reschedule(timer, TimerBase.deadline(FAR + 1));
  }

  @Arbiter
  public void arbiter(ZZ_Result r) {
    r.r2 = timer.isPending();
    timer.delete();
  }
}
