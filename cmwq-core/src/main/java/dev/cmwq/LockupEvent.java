package dev.cmwq;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * JFR event {@code dev.cmwq.Lockup}: the watchdog found a pool with waiting items and no
 * forward progress ({@code BUG: workqueue lockup}). Costs nothing unless a recording enables it.
 */
@Name("dev.cmwq.Lockup")
@Label("Workqueue Lockup")
@Category("cmwq")
@Description("A worker pool had items waiting and made no forward progress for the watchdog threshold")
@StackTrace(false)
final class LockupEvent extends jdk.jfr.Event {
  @Label("Pool Id")
  int poolId;

  @Label("Pool")
  @Description("cpus=... node=... flags=... nice=..., as the kernel prints pools")
  String pool;

  @Label("Stuck For")
  @Timespan(Timespan.NANOSECONDS)
  long stuckFor;
}
