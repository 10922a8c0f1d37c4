package dev.cmwq;

/**
 * The engine internals the Lincheck validations read (test-only bridge into the core package;
 * nothing here is part of the API).
 */
public final class LincheckAccess {
  private LincheckAccess() {}

  /**
   * Where an item is, read under its pool lock: {@code "idle"} (off every list, PENDING clear),
   * {@code "inactive"} or {@code "active"} (on a pwq's list with PENDING set), or a description
   * of an inconsistent state (PENDING without a list, or a list without PENDING).
   */
  public static String where(Work work) {
    long data = work.data;
    PoolWorkqueue pwq = work.pwq;
    if ((data & Work.WORK_STRUCT_PWQ) == 0 || pwq == null) {
      boolean linked = work.next != work;
      if ((data & Work.WORK_STRUCT_PENDING) != 0 || linked) {
        return "inconsistent: PENDING " + ((data & Work.WORK_STRUCT_PENDING) != 0)
            + " linked " + linked + " without a pwq";
      }
      return "idle";
    }
    pwq.pool.lock.lock();
    try {
      data = work.data;
      boolean pending = (data & Work.WORK_STRUCT_PENDING) != 0;
      boolean linked = work.next != work;
      if (pending != linked) {
        return "inconsistent: PENDING " + pending + " but linked " + linked;
      }
      if (!pending) {
        return "idle";
      }
      return (data & Work.WORK_STRUCT_INACTIVE) != 0 ? "inactive" : "active";
    } finally {
      pwq.pool.lock.unlock();
    }
  }
}
