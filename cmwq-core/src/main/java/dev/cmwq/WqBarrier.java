package dev.cmwq;

/**
 * {@code struct wq_barrier}: an internal item inserted by {@link Work#flush()} right behind its
 * target (or at the head of the worker executing it). It is queued already PENDING and INACTIVE,
 * so it never takes an active slot, counts in its flush colour, and cannot be cancelled.
 */
final class WqBarrier extends Work {
  /** I: completed by the barrier's function. */
  final Completion done;
  /** I: the flusher, printed as {@code BAR(<thread id>)} in dumps. */
  final Thread task;

  WqBarrier() {
    this(new Completion());
  }

  private WqBarrier(Completion done) {
    super(w -> done.complete(), true);
    this.done = done;
    this.task = Thread.currentThread();
    this.data = WORK_STRUCT_NO_POOL | WORK_STRUCT_PENDING;
  }
}
