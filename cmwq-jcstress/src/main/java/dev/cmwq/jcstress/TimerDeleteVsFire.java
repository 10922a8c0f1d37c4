package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.timer.TimerBase;
import dev.cmwq.timer.TimerList;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZI_Result;

/**
 * {@code del_timer} against the timer thread firing the same timer, which is due at once. The
 * thread fires only by a CAS from the armed state it placed, and delete wins only by clearing
 * ARMED first, so exactly one of them takes the arming: delete returns true and nothing runs,
 * or the function runs once and delete returns false.
 */
@JCStressTest
@Description("lock-free del_timer vs the timer thread's expiry")
@Outcome(id = "true, 0", expect = ACCEPTABLE, desc = "disarmed before it fired")
@Outcome(id = "false, 1", expect = ACCEPTABLE, desc = "fired; nothing left to disarm")
@Outcome(expect = FORBIDDEN, desc = "fired although disarmed, fired twice, or lost")
@State
public class TimerDeleteVsFire {
  final AtomicInteger runs = new AtomicInteger();
  final TimerList timer = new TimerList() {
    @Override
    protected void fire() {
      runs.incrementAndGet();
    }
  };

  public TimerDeleteVsFire() {
    TimerBase.shared().mod(timer, TimerBase.deadline(0));
  }

  @Actor
  public void delete(ZI_Result r) {
    r.r1 = timer.delete();
  }

  @Arbiter
  public void arbiter(ZI_Result r) {
    timer.deleteSync(); // nothing armed is left: this only waits for a running function
    r.r2 = runs.get();
  }
}
