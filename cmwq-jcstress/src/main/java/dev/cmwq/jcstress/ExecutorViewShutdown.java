package dev.cmwq.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.cmwq.Workqueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
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
 * The executor view's accept/shutdown handshake (a Dekker pair: accept counts the task, then
 * reads the run state; shutdown writes the state, then reads the count): a task is either
 * rejected or runs before the view terminates.
 */
@JCStressTest
@Description("execute vs shutdown: rejected, or ran before termination")
@Outcome(id = "true, true, 1", expect = ACCEPTABLE, desc = "accepted; ran before termination")
@Outcome(id = "false, true, 0", expect = ACCEPTABLE, desc = "rejected; terminated")
@Outcome(expect = FORBIDDEN, desc = "terminated with an accepted task not run, or not terminated")
@State
public class ExecutorViewShutdown {
  static final Workqueue WQ = Shared.SYS.workqueue("jcs_view").unbound().build();

  final ExecutorService view = WQ.asExecutorService();
  final AtomicInteger ran = new AtomicInteger();

  @Actor
  public void execute(ZZI_Result r) {
    try {
      view.execute(ran::incrementAndGet);
      r.r1 = true;
    } catch (RejectedExecutionException e) {
      r.r1 = false;
    }
  }

  @Actor
  public void shutdown() {
    view.shutdown();
  }

  @Arbiter
  public void arbiter(ZZI_Result r) {
    try {
      r.r2 = view.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    r.r3 = ran.get();
  }
}
