package dev.cmwq;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The machine as the workqueue sees it: for every CPU its core (SMT siblings), its last-level
 * cache and its NUMA node. From it the pods of every {@link AffinityScope} are derived
 * ({@code struct wq_pod_type}: pods numbered in the order of their lowest CPU).
 *
 * <p>CPUs are numbered 0..{@link #cpus()}-1. A detected topology covers only the CPUs this
 * process may run on and keeps each one's operating-system id ({@link #osCpuId}) for pinning.
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
  /** I: the operating system's id of each CPU. */
  private final int[] osCpu;
  /** I: pods of every scope except DEFAULT. */
  private final Map<AffinityScope, PodType> podTypes = new EnumMap<>(AffinityScope.class);

  Topology(int[] cpuCore, int[] cpuCache, int[] cpuNode) {
    this(cpuCore, cpuCache, cpuNode, null);
  }

  Topology(int[] cpuCore, int[] cpuCache, int[] cpuNode, int[] osCpu) {
    int n = cpuCore.length;
    if (n == 0 || cpuCache.length != n || cpuNode.length != n) {
      throw new IllegalArgumentException("topology: per-CPU arrays must be non-empty and equally long");
    }
    this.cpuCore = cpuCore.clone();
    this.cpuCache = cpuCache.clone();
    this.cpuNode = cpuNode.clone();
    if (osCpu == null) {
      osCpu = new int[n];
      Arrays.setAll(osCpu, i -> i);
    }
    this.osCpu = osCpu.clone();
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

  /**
   * The machine this process runs on: read from Linux's {@code /sys/devices/system}, limited to
   * the CPUs the process may use ({@code Cpus_allowed_list} of {@code /proc/self/status});
   * elsewhere, or if sysfs cannot be read, {@link #flat} with
   * {@link Runtime#availableProcessors()} CPUs.
   */
  public static Topology detect() {
    Path sys = Path.of("/sys/devices/system");
    if (Files.isDirectory(sys.resolve("cpu"))) {
      try {
        CpuMask allowed = allowedCpus();
        return fromSysfs(sys, allowed);
      } catch (RuntimeException e) {
        Warn.once("topology-detect", "workqueue: cannot read the CPU topology from " + sys
            + " (" + e + "); assuming a flat machine");
      }
    }
    return flat(Runtime.getRuntime().availableProcessors());
  }

  /**
   * A topology read from a saved sysfs tree: {@code root} holds {@code cpu/} (with
   * {@code possible}, {@code cpuN/topology/thread_siblings_list},
   * {@code cpuN/cache/indexM/{level,type,shared_cpu_list}}, and a {@code nodeK} entry per CPU)
   * and optionally {@code node/nodeK/cpulist}, as {@code /sys/devices/system} does.
   *
   * @throws IllegalArgumentException if the tree has no CPUs
   * @throws UncheckedIOException if it cannot be read
   */
  public static Topology fromSysfs(Path root) {
    Checks.notNull(root, "root");
    return fromSysfs(root, null);
  }

  private static Topology fromSysfs(Path root, CpuMask allowed) {
    Path cpuDir = root.resolve("cpu");
    CpuMask possible = Files.exists(cpuDir.resolve("possible"))
        ? CpuMask.parseList(read(cpuDir.resolve("possible"))) : listedCpus(cpuDir);
    if (allowed != null && possible.intersects(allowed)) {
      possible = possible.and(allowed);
    }
    int[] os = possible.stream().toArray();
    if (os.length == 0) {
      throw new IllegalArgumentException("root: " + root + " (expected: a sysfs tree with CPUs)");
    }
    Map<Integer, Integer> nodeOfOsCpu = nodesFromNodeDir(root.resolve("node"));
    int n = os.length;
    int[] core = new int[n];
    int[] cache = new int[n];
    int[] node = new int[n];
    for (int i = 0; i < n; i++) {
      Path c = cpuDir.resolve("cpu" + os[i]);
      core[i] = firstCpu(c.resolve("topology"), "thread_siblings_list", "core_cpus_list", os[i]);
      cache[i] = lastLevelCacheKey(c.resolve("cache"), os[i]);
      Integer nd = nodeEntry(c);
      node[i] = nd != null ? nd : nodeOfOsCpu.getOrDefault(os[i], 0);
    }
    return new Topology(dense(core), dense(cache), node, os);
  }

  /** CPUs the process may run on, from {@code /proc/self/status}; null if unknown. */
  private static CpuMask allowedCpus() {
    Path status = Path.of("/proc/self/status");
    try {
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("Cpus_allowed_list:")) {
          return CpuMask.parseList(line.substring(line.indexOf(':') + 1).strip());
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return null;
  }

  private static String read(Path p) {
    try {
      return new String(Files.readAllBytes(p), StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static CpuMask listedCpus(Path cpuDir) {
    List<Integer> l = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(cpuDir, "cpu[0-9]*")) {
      for (Path p : ds) {
        l.add(Integer.parseInt(p.getFileName().toString().substring(3)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return CpuMask.of(l.stream().mapToInt(Integer::intValue).toArray());
  }

  /** The lowest CPU of the first readable list file, or {@code self}. */
  private static int firstCpu(Path dir, String file, String alternative, int self) {
    for (String f : new String[] {file, alternative}) {
      Path p = dir.resolve(f);
      if (Files.exists(p)) {
        return CpuMask.parseList(read(p)).first();
      }
    }
    return self;
  }

  /**
   * Key of the last-level cache: the lowest CPU sharing the unified or data cache of the highest
   * level ({@code cache/indexN}); the CPU itself when there is no cache information.
   */
  private static int lastLevelCacheKey(Path cacheDir, int self) {
    int bestLevel = -1;
    int key = self;
    if (!Files.isDirectory(cacheDir)) {
      return key;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(cacheDir, "index[0-9]*")) {
      for (Path idx : ds) {
        if (!Files.exists(idx.resolve("level")) || !Files.exists(idx.resolve("shared_cpu_list"))) {
          continue;
        }
        String type = Files.exists(idx.resolve("type")) ? read(idx.resolve("type")) : "Unified";
        if (type.equals("Instruction")) {
          continue;
        }
        int level = Integer.parseInt(read(idx.resolve("level")));
        if (level > bestLevel) {
          bestLevel = level;
          key = CpuMask.parseList(read(idx.resolve("shared_cpu_list"))).first();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return key;
  }

  /** The K of a {@code nodeK} entry (a symlink in real sysfs) in a CPU's directory. */
  private static Integer nodeEntry(Path cpu) {
    if (!Files.isDirectory(cpu)) {
      return null;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(cpu, "node[0-9]*")) {
      for (Path p : ds) {
        return Integer.parseInt(p.getFileName().toString().substring(4));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return null;
  }

  private static Map<Integer, Integer> nodesFromNodeDir(Path nodeDir) {
    Map<Integer, Integer> m = new HashMap<>();
    if (!Files.isDirectory(nodeDir)) {
      return m;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(nodeDir, "node[0-9]*")) {
      for (Path p : ds) {
        Path list = p.resolve("cpulist");
        if (Files.exists(list)) {
          int nd = Integer.parseInt(p.getFileName().toString().substring(4));
          CpuMask.parseList(read(list)).stream().forEach(c -> m.put(c, nd));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return m;
  }

  /** Renumbers group keys 0.. in order of first appearance. */
  private static int[] dense(int[] keys) {
    Map<Integer, Integer> ids = new LinkedHashMap<>();
    int[] out = new int[keys.length];
    for (int i = 0; i < keys.length; i++) {
      Integer id = ids.putIfAbsent(keys[i], ids.size());
      out[i] = id == null ? ids.size() - 1 : id;
    }
    return out;
  }

  /** Number of CPUs. */
  public int cpus() {
    return cpuCore.length;
  }

  /** The operating system's id of CPU {@code cpu} (the same number for synthetic topologies). */
  public int osCpuId(int cpu) {
    return osCpu[cpu];
  }

  /** The CPU whose operating-system id is {@code osCpu}, or -1 if it is not in this topology. */
  public int cpuOfOsId(int osCpu) {
    for (int i = 0; i < this.osCpu.length; i++) {
      if (this.osCpu[i] == osCpu) {
        return i;
      }
    }
    return -1;
  }

  /** The operating-system ids of the CPUs in {@code mask}. */
  public CpuMask toOsCpus(CpuMask mask) {
    return CpuMask.of(mask.stream().filter(c -> c < osCpu.length).map(c -> osCpu[c]).toArray());
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

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Topology)) {
      return false;
    }
    Topology t = (Topology) o;
    return Arrays.equals(cpuCore, t.cpuCore) && Arrays.equals(cpuCache, t.cpuCache)
        && Arrays.equals(cpuNode, t.cpuNode) && Arrays.equals(osCpu, t.osCpu);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(cpuCache) * 31 + Arrays.hashCode(osCpu);
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
