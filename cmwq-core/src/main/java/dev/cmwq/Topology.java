package dev.cmwq;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The machine as the workqueue sees it: for every logical CPU its core (SMT siblings), its
 * last-level cache and its NUMA node. From it the pods of every {@link AffinityScope} are
 * derived ({@code struct wq_pod_type}: pods numbered in the order of their lowest CPU).
 *
 * <p>Immutable.
 */
public final class Topology {
  /** I: core id of each CPU. */
  private final int[] cpuCore;
  /** I: last-level cache id of each CPU. */
  private final int[] cpuCache;
  /** I: NUMA node of each CPU. */
  private final int[] cpuNode;
  /** I: number of NUMA nodes (max node id + 1). */
  private final int nrNodes;
  /** I: pods of every scope except DEFAULT. */
  private final Map<AffinityScope, PodType> podTypes = new EnumMap<>(AffinityScope.class);

  Topology(int[] cpuCore, int[] cpuCache, int[] cpuNode) {
    int n = cpuCore.length;
    if (n == 0 || cpuCache.length != n || cpuNode.length != n) {
      throw new IllegalArgumentException("topology: per-CPU arrays must be non-empty and equally long");
    }
    this.cpuCore = cpuCore.clone();
    this.cpuCache = cpuCache.clone();
    this.cpuNode = cpuNode.clone();
    this.nrNodes = Arrays.stream(cpuNode).max().getAsInt() + 1;
    int[] self = new int[n];
    Arrays.setAll(self, i -> i);
    podTypes.put(AffinityScope.CPU, new PodType(self, this.cpuNode));
    podTypes.put(AffinityScope.SMT, new PodType(this.cpuCore, this.cpuNode));
    podTypes.put(AffinityScope.CACHE, new PodType(this.cpuCache, this.cpuNode));
    podTypes.put(AffinityScope.NUMA, new PodType(this.cpuNode, this.cpuNode));
    podTypes.put(AffinityScope.SYSTEM, new PodType(new int[n], null));
  }

  /**
   * A synthetic machine: CPUs numbered consecutively, {@code smtPerCore} hardware threads per
   * core, {@code coresPerCache} cores per last-level cache, {@code cachesPerNode} caches per
   * NUMA node. A count that does not divide evenly leaves the last group smaller.
   */
  public static Topology of(int cpus, int smtPerCore, int coresPerCache, int cachesPerNode) {
    Checks.inRange(cpus, 1, CpuMask.MAX_CPUS, "cpus");
    Checks.atLeast(smtPerCore, 1, "smtPerCore");
    Checks.atLeast(coresPerCache, 1, "coresPerCache");
    Checks.atLeast(cachesPerNode, 1, "cachesPerNode");
    int[] core = new int[cpus];
    int[] cache = new int[cpus];
    int[] node = new int[cpus];
    for (int cpu = 0; cpu < cpus; cpu++) {
      core[cpu] = cpu / smtPerCore;
      cache[cpu] = core[cpu] / coresPerCache;
      node[cpu] = cache[cpu] / cachesPerNode;
    }
    return new Topology(core, cache, node);
  }

  /** One core per CPU, one shared cache, one node: what is assumed when nothing is known. */
  public static Topology flat(int cpus) {
    return of(cpus, 1, cpus, 1);
  }

  /** Number of logical CPUs. */
  public int cpus() {
    return cpuCore.length;
  }

  /** Number of NUMA nodes. */
  public int nodes() {
    return nrNodes;
  }

  /** NUMA node of {@code cpu}. */
  public int nodeOf(int cpu) {
    return cpuNode[cpu];
  }

  /** Every CPU of the machine ({@code cpu_possible_mask}). */
  public CpuMask possible() {
    return CpuMask.range(0, cpus() - 1);
  }

  /** CPUs of NUMA node {@code node}. */
  public CpuMask nodeCpus(int node) {
    return podTypes.get(AffinityScope.NUMA).podCpus[node];
  }

  /** The pods of {@code scope} ({@link AffinityScope#DEFAULT} resolved). */
  PodType pods(AffinityScope scope) {
    return podTypes.get(scope.resolve());
  }

  /** Number of pods of a scope. */
  public int podCount(AffinityScope scope) {
    return pods(scope).nrPods();
  }

  /** CPUs of pod {@code pod} of {@code scope}. */
  public CpuMask podCpus(AffinityScope scope, int pod) {
    return pods(scope).podCpus[pod];
  }

  /** Pod of {@code cpu} in {@code scope}. */
  public int cpuPod(AffinityScope scope, int cpu) {
    return pods(scope).cpuPod[cpu];
  }

  @Override
  public String toString() {
    return "Topology[cpus=" + cpus() + ", cores=" + podCount(AffinityScope.SMT)
        + ", caches=" + podCount(AffinityScope.CACHE) + ", nodes=" + nrNodes + "]";
  }

  /**
   * {@code struct wq_pod_type}: a partition of the CPUs into pods. Immutable.
   */
  static final class PodType {
    /** I: CPUs of each pod. */
    final CpuMask[] podCpus;
    /** I: NUMA node of each pod (-1 when it spans nodes). */
    final int[] podNode;
    /** I: pod of each CPU. */
    final int[] cpuPod;

    PodType(int[] groupOfCpu, int[] nodeOfCpu) {
      Map<Integer, Integer> podOfGroup = new LinkedHashMap<>();
      cpuPod = new int[groupOfCpu.length];
      for (int cpu = 0; cpu < groupOfCpu.length; cpu++) {
        Integer pod = podOfGroup.putIfAbsent(groupOfCpu[cpu], podOfGroup.size());
        cpuPod[cpu] = pod == null ? podOfGroup.size() - 1 : pod;
      }
      int nrPods = podOfGroup.size();
      podCpus = new CpuMask[nrPods];
      podNode = new int[nrPods];
      Arrays.fill(podNode, Integer.MIN_VALUE);
      for (int pod = 0; pod < nrPods; pod++) {
        podCpus[pod] = CpuMask.empty();
      }
      for (int cpu = 0; cpu < cpuPod.length; cpu++) {
        int pod = cpuPod[cpu];
        podCpus[pod] = podCpus[pod].or(CpuMask.of(cpu));
        int node = nodeOfCpu == null ? -1 : nodeOfCpu[cpu];
        podNode[pod] = podNode[pod] == Integer.MIN_VALUE || podNode[pod] == node ? node : -1;
      }
    }

    int nrPods() {
      return podCpus.length;
    }
  }
}
