package dev.cmwq;

/**
 * What makes two unbound pools the same pool ({@code wqattrs_hash} / {@code wqattrs_equal}):
 * nice level, allowed CPUs, the pod's CPUs and strictness. A strict pool's workers never leave
 * the pod, so its full cpumask does not matter and is left out of equality (Linux 6.10+).
 *
 * @param nice       worker nice level
 * @param cpumask    the workqueue's effective CPUs
 * @param podCpumask the CPUs of the pod this pool serves ({@code __pod_cpumask})
 * @param strict     workers confined to the pod
 */
record PoolAttrs(int nice, CpuMask cpumask, CpuMask podCpumask, boolean strict) {

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof PoolAttrs)) {
      return false;
    }
    PoolAttrs a = (PoolAttrs) o;
    return nice == a.nice && strict == a.strict && podCpumask.equals(a.podCpumask)
        && (strict || cpumask.equals(a.cpumask));
  }

  @Override
  public int hashCode() {
    int h = 31 * nice + (strict ? 1 : 0);
    h = 31 * h + podCpumask.hashCode();
    return strict ? h : 31 * h + cpumask.hashCode();
  }
}
