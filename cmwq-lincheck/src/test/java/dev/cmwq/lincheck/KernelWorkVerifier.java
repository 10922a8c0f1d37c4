package dev.cmwq.lincheck;

import java.util.ArrayList;
import java.util.List;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionResult;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.execution.ResultWithClock;
import org.jetbrains.kotlinx.lincheck.util.ExceptionResult;
import org.jetbrains.kotlinx.lincheck.util.LincheckResult;
import org.jetbrains.kotlinx.lincheck.util.ValueResult;
import org.jetbrains.kotlinx.lincheck.util.VoidResult;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.jetbrains.lincheck.datastructures.verifier.Verifier;

/**
 * Linearizability of one work item's {@code queue}/{@code cancel}/{@code isPending} history
 * against the kernel's specification, including the two places where the kernel is
 * deliberately not linearizable:
 *
 * <ul>
 *   <li>Cancelling an idle item first claims it by setting PENDING ({@code try_to_grab_pending}),
 *       and {@code cancel_work_sync} keeps the item disabled while it waits. A queue that races
 *       with either sees the item as taken and returns false although nothing is pending
 *       afterwards: the cancel wins. So a queue returning false with nothing pending is allowed
 *       when a cancel overlaps it in real time, and leaves the item idle.
 *   <li>For the same reason {@code isPending} may report true while an overlapping cancel holds
 *       the item.
 * </ul>
 *
 * <p>Everything else is strict: a queue on an idle item with no cancel in flight must succeed; a
 * queue on a pending item must coalesce (return false); a cancel returns whether it took a
 * pending item; real-time order (Lincheck's happens-before clocks) is respected. The sequential
 * part before and after the parallel part is checked in order. Methods are told apart by name:
 * {@code queue*} (true if newly queued), {@code cancel*} (true if a pending item was taken),
 * {@code isPending}, {@code flush} (the item is idle afterwards unless a queue overlapped it).
 *
 * <p>{@link Frozen} checks a workqueue on which nothing executes; {@link Live} lets the item
 * leave PENDING by starting to execute between any two operations. What execution itself
 * guarantees (every queue is followed by an execution start unless cancelled; every successful
 * queue ends in exactly one run or one successful cancel) is checked by the tests' validation
 * functions, which see the runs.
 */
public abstract class KernelWorkVerifier implements Verifier {
  /** Whether the item may start executing (leave PENDING) between any two operations. */
  private final boolean executes;

  KernelWorkVerifier(boolean executes) {
    this.executes = executes;
  }

  /** For a frozen workqueue: nothing executes, so PENDING changes only by the operations. */
  public static final class Frozen extends KernelWorkVerifier {
    /** Lincheck instantiates verifiers reflectively with the sequential specification class. */
    public Frozen(Class<?> sequentialSpecification) {
      super(false);
    }
  }

  /** For a running workqueue: execution may take a pending item at any moment. */
  public static final class Live extends KernelWorkVerifier {
    /** Lincheck instantiates verifiers reflectively with the sequential specification class. */
    public Live(Class<?> sequentialSpecification) {
      super(true);
    }
  }

  /**
   * Runs Lincheck's stress mode on {@code test} with {@code verifier}: 3 threads × 3 operations
   * plus one before and one after, {@code cmwq.lincheck.iterations} (50) scenarios of
   * {@code cmwq.lincheck.invocations} (2 000) runs each.
   */
  static void stress(Class<?> test, Class<? extends KernelWorkVerifier> verifier) {
    new StressOptions()
        .iterations(Integer.getInteger("cmwq.lincheck.iterations", 50))
        .invocationsPerIteration(Integer.getInteger("cmwq.lincheck.invocations", 2_000))
        .threads(3)
        .actorsPerThread(3)
        .actorsBefore(1)
        .actorsAfter(1)
        .verifier(verifier)
        .check(test);
  }

  private record Op(String kind, Object result, int thread, int index, int[] clock) {}

  @Override
  public boolean verifyResults(ExecutionScenario scenario, ExecutionResult result) {
    boolean pending = false;
    List<Actor> init = scenario.getInitExecution();
    for (int i = 0; i < init.size(); i++) {
      Object r = value(result.getInitResults().get(i));
      Boolean next = step(kind(init.get(i)), r, pending, false);
      if (next == null && executes && pending) {
        next = step(kind(init.get(i)), r, false, false);
      }
      if (next == null) {
        return false;
      }
      pending = next;
    }
    List<List<Op>> threads = new ArrayList<>();
    List<List<Actor>> par = scenario.getParallelExecution();
    for (int t = 0; t < par.size(); t++) {
      List<Op> ops = new ArrayList<>();
      List<ResultWithClock> res = result.getParallelResultsWithClock().get(t);
      for (int i = 0; i < par.get(t).size(); i++) {
        ops.add(new Op(kind(par.get(t).get(i)), value(res.get(i).getResult()), t, i,
            res.get(i).getClockOnStart().getClock()));
      }
      threads.add(ops);
    }
    List<Boolean> ends = new ArrayList<>();
    search(threads, new int[threads.size()], pending, ends);
    List<Actor> post = scenario.getPostExecution();
    for (boolean end : ends) {
      boolean p = end;
      boolean ok = true;
      for (int i = 0; i < post.size() && ok; i++) {
        Object r = value(result.getPostResults().get(i));
        Boolean next = step(kind(post.get(i)), r, p, false);
        if (next == null && executes && p) {
          next = step(kind(post.get(i)), r, false, false);
        }
        ok = next != null;
        p = ok && next;
      }
      if (ok) {
        return true;
      }
    }
    return false;
  }

  /** Every state the parallel part can end in under some valid linearization. */
  private void search(List<List<Op>> threads, int[] done, boolean pending, List<Boolean> ends) {
    if (executes && pending) {
      search(threads, done, false, ends);
    }
    boolean all = true;
    for (int t = 0; t < threads.size(); t++) {
      if (done[t] == threads.get(t).size()) {
        continue;
      }
      all = false;
      Op op = threads.get(t).get(done[t]);
      if (!minimal(threads, done, op)) {
        continue;
      }
      Boolean next = op.kind.equals("flush")
          ? flush(op.result, pending, overlaps(threads, op, "queue"))
          : step(op.kind, op.result, pending, overlaps(threads, op, "cancel"));
      if (next == null) {
        continue;
      }
      done[t]++;
      search(threads, done, next, ends);
      done[t]--;
    }
    if (all && !ends.contains(pending)) {
      ends.add(pending);
    }
  }

  /** No unlinearized operation of another thread finished before {@code op} started. */
  private static boolean minimal(List<List<Op>> threads, int[] done, Op op) {
    for (int u = 0; u < threads.size(); u++) {
      if (u != op.thread && op.clock[u] > done[u]) {
        return false;
      }
    }
    return true;
  }

  /** Whether an operation of {@code kind} in another thread overlaps {@code op} in real time. */
  private static boolean overlaps(List<List<Op>> threads, Op op, String kind) {
    for (List<Op> other : threads) {
      for (Op c : other) {
        if (c.thread == op.thread || !c.kind.equals(kind)) {
          continue;
        }
        boolean cBeforeOp = op.clock[c.thread] > c.index;
        boolean opBeforeC = c.clock[op.thread] > op.index;
        if (!cBeforeOp && !opBeforeC) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * {@code flush_work}: when it returns, the instance queued before it has finished, so the
   * item is idle unless a queue overlapping the flush put it back.
   */
  private static Boolean flush(Object result, boolean pending, boolean queueRacing) {
    if (result instanceof Throwable) {
      return null;
    }
    return queueRacing && pending;
  }

  /** The specification: the next state, or null if {@code result} is not allowed. */
  private static Boolean step(String kind, Object result, boolean pending, boolean cancelRacing) {
    switch (kind) {
      case "queue":
        if (Boolean.TRUE.equals(result)) {
          return pending ? null : Boolean.TRUE;
        }
        return pending || cancelRacing ? pending : null;
      case "cancel":
        return Boolean.valueOf(pending).equals(result) ? Boolean.FALSE : null;
      case "isPending":
        return Boolean.valueOf(pending).equals(result) || (cancelRacing && Boolean.TRUE.equals(result))
            ? pending : null;
      default:
        return result instanceof Throwable ? null : pending;
    }
  }

  private static String kind(Actor actor) {
    String name = actor.getMethod().getName();
    if (name.startsWith("queue")) {
      return "queue";
    }
    if (name.startsWith("cancel")) {
      return "cancel";
    }
    return name;
  }

  private static Object value(LincheckResult r) {
    if (r instanceof ValueResult v) {
      return v.getValue();
    }
    if (r instanceof VoidResult) {
      return null;
    }
    if (r instanceof ExceptionResult e) {
      return e.getThrowable();
    }
    return new AssertionError("unexpected result " + r);
  }
}
