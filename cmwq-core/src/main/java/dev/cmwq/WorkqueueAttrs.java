package dev.cmwq;

import java.util.Objects;

/**
 * Attributes of an unbound workqueue ({@code struct workqueue_attrs}): worker nice level,
 * allowed CPUs, affinity scope and strictness. Immutable; the withers return copies.
 *
 * <p>Applied with {@link Workqueue#applyAttrs}; read back with {@link Workqueue#attrs()}, which
 * shows the requested cpumask restricted to the system's CPUs, as the kernel stores it.
 */
public final class WorkqueueAttrs {
  /** Lowest nice level ({@code MIN_NICE}). */
  public static final int MIN_NICE = -20;
  /** Highest nice level ({@code MAX_NICE}). */
  public static final int MAX_NICE = 19;

  private static final WorkqueueAttrs DEFAULTS =
      new WorkqueueAttrs(0, CpuMask.all(), AffinityScope.DEFAULT, false);

  /** I: worker nice level. */
  private final int nice;
  /** I: allowed CPUs as requested. */
  private final CpuMask cpumask;
  /** I: pod type used to split the CPUs. */
  private final AffinityScope affinityScope;
  /** I: workers may only run inside their pod. */
  private final boolean affinityStrict;

  private WorkqueueAttrs(int nice, CpuMask cpumask, AffinityScope scope, boolean strict) {
    this.nice = nice;
    this.cpumask = cpumask;
    this.affinityScope = scope;
    this.affinityStrict = strict;
  }

  /** {@code alloc_workqueue_attrs()}: nice 0, every CPU, default scope, not strict. */
  public static WorkqueueAttrs defaults() {
    return DEFAULTS;
  }

  /** Worker nice level, -20 to 19. */
  public int nice() {
    return nice;
  }

  /** Allowed CPUs. */
  public CpuMask cpumask() {
    return cpumask;
  }

  /** Affinity scope. */
  public AffinityScope affinityScope() {
    return affinityScope;
  }

  /** Whether workers are confined to their pod. */
  public boolean affinityStrict() {
    return affinityStrict;
  }

  /** A copy with nice level {@code n} (-20 to 19). */
  public WorkqueueAttrs withNice(int n) {
    Checks.inRange(n, MIN_NICE, MAX_NICE, "nice");
    return new WorkqueueAttrs(n, cpumask, affinityScope, affinityStrict);
  }

  /** A copy with allowed CPUs {@code m} (must not be empty). */
  public WorkqueueAttrs withCpumask(CpuMask m) {
    Checks.notNull(m, "cpumask");
    if (m.isEmpty()) {
      throw new IllegalArgumentException("cpumask: \"\" (expected: at least one CPU)");
    }
    return new WorkqueueAttrs(nice, m, affinityScope, affinityStrict);
  }

  /** A copy with affinity scope {@code s}. */
  public WorkqueueAttrs withAffinityScope(AffinityScope s) {
    return new WorkqueueAttrs(nice, cpumask, Checks.notNull(s, "affinityScope"), affinityStrict);
  }

  /** A copy with strict affinity {@code b}. */
  public WorkqueueAttrs withAffinityStrict(boolean b) {
    return new WorkqueueAttrs(nice, cpumask, affinityScope, b);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof WorkqueueAttrs)) {
      return false;
    }
    WorkqueueAttrs a = (WorkqueueAttrs) o;
    return nice == a.nice && affinityStrict == a.affinityStrict
        && affinityScope == a.affinityScope && cpumask.equals(a.cpumask);
  }

  @Override
  public int hashCode() {
    return Objects.hash(nice, cpumask, affinityScope, affinityStrict);
  }

  @Override
  public String toString() {
    return "WorkqueueAttrs[nice=" + nice + ", cpumask=" + cpumask.toList() + ", scope="
        + affinityScope.name().toLowerCase(java.util.Locale.ROOT) + (affinityStrict ? ", strict" : "") + "]";
  }
}
