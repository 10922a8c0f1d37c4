package dev.cmwq.jcstress;

import dev.cmwq.WorkqueueSystem;
import dev.cmwq.kthread.KthreadWorker;

/**
 * The workqueue systems the tests share: creating one per jcstress state would cost threads
 * per sample. Daemon threads; they live as long as the test VM.
 */
final class Shared {
  private Shared() {}

  /** Two CPUs, no JMX, the checks that the tests rely on at their defaults. */
  static final WorkqueueSystem SYS = WorkqueueSystem.builder().cpus(2).name("jcstress")
      .jmx(false).build();

  /** One CPU: every per-CPU item of a test lands in the same pool. */
  static final WorkqueueSystem ONE_CPU = WorkqueueSystem.builder().cpus(1)
      .name("jcstress-1cpu").jmx(false).build();

  static final KthreadWorker KTHREAD = KthreadWorker.create("jcstress_kthread");
}
