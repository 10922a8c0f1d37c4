package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.timer.TimerBase;
import dev.cmwq.timer.TimerJcstressAccess;
import dev.cmwq.timer.TimerList;
import java.util.concurrent.TimeUnit;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZZ_Result;

/**
 * A deferred arming ({@code addAfter} while the base stamps: the delay is stored, no clock is
 * read, and the drainer adds the delay to a clock reading taken after the arming) against
 * {@code reschedule}, which moves an armed timer to an absolute deadline. Whichever wins, the
 * timer ends armed once, and the deadline the wheel places it at is not before the test
 * started plus the delay, nor much later: the reschedule must drop the deferred flag with the
 * old arming, or its absolute deadline would be taken for a delay.
 */
@JCStressTest
@Description("a deferred add_timer vs a concurrent reschedule: armed once, never placed early")
@Outcome(id = "false, true, true", expect = ACCEPTABLE, desc = "reschedule saw it idle; the add armed it")
@Outcome(id = "true, true, true", expect = ACCEPTABLE, desc = "added, then moved by the reschedule")
@Outcome(expect = FORBIDDEN, desc = "the arming was lost, or placed early or far off")
@State
public class TimerDeferredAddVsReschedule {
  static final long FAR = TimeUnit.SECONDS.toNanos(60);
  final TimerBase base = TimerBase.shared();
  final TimerList timer = new TimerList() {
    @Override
    protected void fire() {}
  };
  final long start;

  public TimerDeferredAddVsReschedule() {
    base.mod(timer, TimerBase.deadline(FAR)); // now on this base
    timer.delete();
    base.size(); // takes the reconcile stack: the word is idle (not armed, not queued)
    TimerJcstressAccess.startStamping(base);
    start = System.nanoTime();
  }

  @Actor
  public void add() {
    base.addAfter(timer, FAR);
  }

  @Actor
  public void reschedule(ZZZ_Result r) {
    r.r1 = base.reschedule(timer, TimerBase.deadline(FAR));
  }

  @Arbiter
  public void arbiter(ZZZ_Result r) {
    r.r2 = timer.isPending();
    base.size(); // places the timer
    long d = TimerJcstressAccess.placedAt(timer) - start;
    r.r3 = d >= FAR && d < FAR + TimeUnit.SECONDS.toNanos(10);
    timer.delete();
  }
}
