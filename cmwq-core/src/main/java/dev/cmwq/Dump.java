package dev.cmwq;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code show_all_workqueues()}: the text the kernel prints on sysrq-t, on a watchdog lockup and
 * when destroying a busy workqueue, in the same layout:
 *
 * <pre>
 * Showing busy workqueues and worker pools:
 * workqueue events: flags=0x0
 *   pwq 2: cpus=1 node=0 flags=0x0 nice=0 active=3 refcnt=5
 *     in-flight: 41:Handler BAR(1)
 *     pending: 2*Handler, Other
 * pool 2: cpus=1 node=0 flags=0x0 nice=0 hung=3s workers=3 idle: 44 43
 * </pre>
 *
 * Thread ids are Java thread ids ({@link Thread#getId()}); consecutive items with the same
 * function print as {@code N*fn}; flush barriers as {@code BAR(<flusher thread id>)}. Each pool
 * is printed under its own lock, one at a time; nothing else is locked meanwhile.
 */
final class Dump {
  private Dump() {}

  /** The whole report. */
  static String showAllWorkqueues(WorkqueueSystem system) {
    StringBuilder sb = new StringBuilder("Showing busy workqueues and worker pools:\n");
    for (Workqueue wq : system.workqueues()) {
      showOneWorkqueue(sb, wq);
    }
    for (WorkerPool pool : system.poolsById()) {
      showOneWorkerPool(sb, pool);
    }
    return sb.toString();
  }

  /** {@code show_one_workqueue}: only workqueues with a busy pwq are shown. */
  static void showOneWorkqueue(StringBuilder sb, Workqueue wq) {
    List<String> blocks = new ArrayList<>();
    for (PoolWorkqueue pwq : wq.pwqs()) {
      pwq.pool.lock.lock();
      try {
        if (!pwq.isEmpty()) {
          StringBuilder b = new StringBuilder();
          showPwq(b, pwq);
          blocks.add(b.toString());
        }
      } finally {
        pwq.pool.lock.unlock();
      }
    }
    if (blocks.isEmpty()) {
      return;
    }
    sb.append("workqueue ").append(wq.name()).append(": flags=0x")
        .append(Integer.toHexString(wq.flags)).append('\n');
    blocks.forEach(sb::append);
  }

  /** {@code show_pwq}. Pool lock held. */
  private static void showPwq(StringBuilder sb, PoolWorkqueue pwq) {
    WorkerPool pool = pwq.pool;
    sb.append("  pwq ").append(pool.id).append(": ").append(pool.describe())
        .append(" active=").append(pwq.nrActive).append(" refcnt=").append(pwq.refcnt)
        .append(pwq.onMayday ? " MAYDAY" : "").append('\n');
    StringBuilder inFlight = new StringBuilder();
    for (Worker w : pool.busyWorkers()) {
      if (w.currentPwq != pwq) {
        continue;
      }
      inFlight.append(inFlight.length() == 0 ? " " : ", ").append(w.thread.getId())
          .append(w.rescueWq != null ? "(RESCUER)" : "").append(':')
          .append(Work.functionName(w.currentFunc));
      Items items = new Items(inFlight);
      for (Work work = w.scheduled.first(); work != null && work != w.scheduled; work = work.next) {
        items.add(work, false);
      }
      items.flush();
    }
    if (inFlight.length() > 0) {
      sb.append("    in-flight:").append(inFlight).append('\n');
    }
    StringBuilder pending = new StringBuilder();
    Items items = new Items(pending);
    boolean comma = false;
    for (Work work = pool.worklist.first(); work != null && work != pool.worklist; work = work.next) {
      if (work.pwq == pwq) {
        items.add(work, comma);
        comma = (work.data & Work.WORK_STRUCT_LINKED) == 0;
      }
    }
    items.flush();
    if (pending.length() > 0) {
      sb.append("    pending:").append(pending).append('\n');
    }
    if (pwq.hasInactive()) {
      WorkList list = pwq.inactiveList();
      StringBuilder inactive = new StringBuilder();
      items = new Items(inactive);
      comma = false;
      for (Work work = list.first(); work != null && work != list; work = work.next) {
        items.add(work, comma);
        comma = (work.data & Work.WORK_STRUCT_LINKED) == 0;
      }
      items.flush();
      sb.append("    inactive:").append(inactive).append('\n');
    }
  }

  /** {@code show_one_worker_pool}: pools with busy workers only. */
  static void showOneWorkerPool(StringBuilder sb, WorkerPool pool) {
    pool.lock.lock();
    try {
      if (pool.nrWorkers == pool.nrIdle) {
        return;
      }
      long now = System.nanoTime();
      long hung = pool.worklist.isEmpty() ? 0
          : (now - pool.stallClock(now)) / 1_000_000_000L;
      sb.append("pool ").append(pool.id).append(": ").append(pool.describe()).append(" hung=")
          .append(hung).append("s workers=").append(pool.nrWorkers);
      if (pool.manager != null) {
        sb.append(" manager: ").append(pool.manager.thread.getId());
      }
      boolean first = true;
      for (Worker w : pool.idleWorkers()) {
        sb.append(first ? " idle: " : " ").append(w.thread.getId());
        first = false;
      }
      sb.append('\n');
    } finally {
      pool.lock.unlock();
    }
  }

  /** {@code pr_cont_work}: runs of equal functions compressed to {@code N*fn}. */
  private static final class Items {
    private final StringBuilder out;
    private String fn;
    private int count;
    private boolean comma;

    Items(StringBuilder out) {
      this.out = out;
    }

    void add(Work work, boolean commaBefore) {
      if (work instanceof WqBarrier) {
        flush();
        out.append(commaBefore ? ", " : " ").append("BAR(")
            .append(((WqBarrier) work).task.getId()).append(')');
        return;
      }
      String name = Work.functionName(work.fn);
      if (name.equals(fn)) {
        count++;
        return;
      }
      flush();
      fn = name;
      count = 1;
      comma = commaBefore;
    }

    void flush() {
      if (count == 1) {
        out.append(comma ? ", " : " ").append(fn);
      } else if (count > 1) {
        out.append(comma ? ", " : " ").append(count).append('*').append(fn);
      }
      count = 0;
      fn = null;
    }
  }
}
