package dev.cmwq;

/**
 * Affinity scopes of unbound workqueues ({@code enum wq_affn_scope}, Linux 6.6+): how the CPUs
 * are split into pods, CPUs of one pod sharing one worker pool.
 */
public enum AffinityScope {
  /** {@code WQ_AFFN_DFL}: the system default, {@link #CACHE}. */
  DEFAULT,
  /** {@code WQ_AFFN_CPU}: every CPU is its own pod. */
  CPU,
  /** {@code WQ_AFFN_SMT}: the hardware threads of one core. */
  SMT,
  /** {@code WQ_AFFN_CACHE}: the CPUs sharing a last-level cache. */
  CACHE,
  /** {@code WQ_AFFN_NUMA}: the CPUs of one NUMA node. */
  NUMA,
  /** {@code WQ_AFFN_SYSTEM}: one pod with every CPU. */
  SYSTEM;

  /** The scope {@link #DEFAULT} stands for ({@code workqueue.default_affinity_scope}). */
  static final AffinityScope DEFAULT_RESOLVED = CACHE;

  /** This scope with {@link #DEFAULT} resolved. */
  AffinityScope resolve() {
    return this == DEFAULT ? DEFAULT_RESOLVED : this;
  }
}
