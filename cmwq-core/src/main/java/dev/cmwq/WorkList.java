package dev.cmwq;

/**
 * An intrusive FIFO of work items ({@code struct list_head} as a list head): the pool worklist,
 * a pwq's inactive list, a worker's scheduled list. The head is itself a {@link Work} so that
 * items unlink without knowing their list ({@code list_del_init}), and queueing allocates nothing.
 *
 * <p>Not thread safe: every list is guarded by its pool's lock.
 */
final class WorkList extends Work {
  WorkList() {
    super(null, true);
  }

  boolean isEmpty() {
    return next == this;
  }

  /** First item, or null. */
  Work first() {
    return next == this ? null : next;
  }

  /** Appends {@code work}. */
  void addTail(Work work) {
    work.listAddTail(this);
  }

  /** Number of items (O(n); dumps and tests only). */
  int size() {
    int n = 0;
    for (Work w = next; w != this; w = w.next) {
      n++;
    }
    return n;
  }
}
