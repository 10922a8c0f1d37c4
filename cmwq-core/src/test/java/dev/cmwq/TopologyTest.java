package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Topology detection from saved sysfs trees, pods per scope, pod-local unbound pools. */
class TopologyTest {
  static Path dir;
  static Topology twoSocket;
  static Topology ryzen;
  static Topology kvm;

  @BeforeAll
  static void unzipFixtures() throws IOException {
    dir = Files.createTempDirectory("sysfs");
    twoSocket = Topology.fromSysfs(unzip("two-socket-128cpu-16l3.zip"));
    ryzen = Topology.fromSysfs(unzip("ryzen-3900x-24cpu-4l3.zip"));
    kvm = Topology.fromSysfs(unzip("kvm-2cpu.zip"));
  }

  @AfterAll
  static void cleanUp() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  static Path unzip(String name) throws IOException {
    Path root = dir.resolve(name.replace(".zip", ""));
    try (InputStream in = TopologyTest.class.getResourceAsStream("/topologies/" + name);
        ZipInputStream zin = new ZipInputStream(in)) {
      ZipEntry e;
      while ((e = zin.getNextEntry()) != null) {
        Path p = root.resolve(e.getName());
        if (e.isDirectory()) {
          Files.createDirectories(p);
        } else {
          Files.createDirectories(p.getParent());
          Files.copy(zin, p);
        }
      }
    }
    return root;
  }

  @Test
  void twoSocketMachine_podsPerScope() {
    Topology t = twoSocket;
    assertThat(t.cpus()).isEqualTo(128);
    assertThat(t.nodes()).isEqualTo(2);
    assertThat(t.podCount(AffinityScope.CPU)).isEqualTo(128);
    assertThat(t.podCount(AffinityScope.SMT)).isEqualTo(64);
    assertThat(t.podCount(AffinityScope.CACHE)).isEqualTo(16);
    assertThat(t.podCount(AffinityScope.NUMA)).isEqualTo(2);
    assertThat(t.podCount(AffinityScope.SYSTEM)).isEqualTo(1);
    // siblings 5 and 69 share a core; L3 of CPU 5: cores 4-7 and their siblings
    assertThat(t.cpuPod(AffinityScope.SMT, 5)).isEqualTo(t.cpuPod(AffinityScope.SMT, 69));
    assertThat(t.podCpus(AffinityScope.CACHE, t.cpuPod(AffinityScope.CACHE, 5)))
        .isEqualTo(CpuMask.parseList("4-7,68-71"));
    assertThat(t.nodeOf(40)).isEqualTo(1);
    assertThat(t.nodeOf(100)).isEqualTo(1);
    assertThat(t.nodeCpus(0)).isEqualTo(CpuMask.parseList("0-31,64-95"));
    // pods numbered in order of their lowest CPU
    assertThat(t.cpuPod(AffinityScope.CACHE, 0)).isZero();
    assertThat(t.cpuPod(AffinityScope.CACHE, 127)).isEqualTo(15);
  }

  @Test
  void ryzenDesktop_fourCcxCaches() {
    Topology t = ryzen;
    assertThat(t.cpus()).isEqualTo(24);
    assertThat(t.podCount(AffinityScope.SMT)).isEqualTo(12);
    assertThat(t.podCount(AffinityScope.CACHE)).isEqualTo(4);
    assertThat(t.podCount(AffinityScope.NUMA)).isEqualTo(1);
    assertThat(t.podCpus(AffinityScope.CACHE, 0)).isEqualTo(CpuMask.parseList("0-2,12-14"));
    assertThat(t.podCpus(AffinityScope.CACHE, 3)).isEqualTo(CpuMask.parseList("9-11,21-23"));
  }

  @Test
  void thisMachine_andDetection() {
    assertThat(kvm.cpus()).isEqualTo(2);
    assertThat(kvm.podCount(AffinityScope.CACHE)).isEqualTo(1);
    Topology here = Topology.detect();
    assertThat(here.cpus()).isBetween(1, Runtime.getRuntime().availableProcessors());
    for (int c = 0; c < here.cpus(); c++) {
      assertThat(here.cpuOfOsId(here.osCpuId(c))).isEqualTo(c);
    }
    assertThatThrownBy(() -> Topology.fromSysfs(dir.resolve("nothing-here")))
        .isInstanceOf(UncheckedIOException.class);
  }

  /** Items queued from CPU c on a CACHE-scoped unbound workqueue run in c's L3 pod's pool. */
  @Test
  void cacheScope_itemsRunOnThePoolOfTheQueueingCpusL3() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().topology(twoSocket).build()) {
      Workqueue wq = sys.workqueue("l3").unbound().build();
      for (int c : new int[] {0, 5, 40, 69, 100, 127}) {
        AtomicReference<WorkerPool> ranIn = new AtomicReference<>();
        Work w = new Work(() -> ranIn.set(Worker.current().pool));
        wq.queueWorkOn(c, w);
        w.flush();
        CpuMask l3 = twoSocket.podCpus(AffinityScope.CACHE, twoSocket.cpuPod(AffinityScope.CACHE, c));
        assertThat(ranIn.get().attrs.podCpumask()).as("pool of CPU " + c).isEqualTo(l3);
      }
      assertThat(sys.unboundPools()).hasSize(17); // 16 L3 pods + the default pwq's pool
    }
  }

  @Test
  void strictPoolsIgnoreTheCpumask_nonStrictDoNot() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().topology(ryzen).build()) {
      Workqueue a = sys.workqueue("a").unbound().build();
      Workqueue b = sys.workqueue("b").unbound().build();
      WorkqueueAttrs strict = WorkqueueAttrs.defaults().withAffinityStrict(true);
      a.applyAttrs(strict.withCpumask(CpuMask.parseList("0-23")));
      b.applyAttrs(strict.withCpumask(CpuMask.parseList("0-11,12-23")));
      assertThat(b.cpuPwqs()[0].pool).isSameAs(a.cpuPwqs()[0].pool);
      a.applyAttrs(strict.withAffinityStrict(false).withCpumask(CpuMask.parseList("0-23")));
      b.applyAttrs(strict.withAffinityStrict(false).withCpumask(CpuMask.parseList("0-5,12-17")));
      // same pod (0-2,12-14) but different cpumasks: different non-strict pools
      assertThat(b.cpuPwqs()[0].pool).isNotSameAs(a.cpuPwqs()[0].pool);
      assertThat(b.cpuPwqs()[0].pool.attrs.podCpumask())
          .isEqualTo(a.cpuPwqs()[0].pool.attrs.podCpumask());
    }
  }

  /** Reference §5.5: unbound max_active is system-wide, split per node by online CPUs. */
  @Test
  void unboundMaxActiveSplitPerNode() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().topology(twoSocket).build()) {
      Workqueue wq = sys.workqueue("split").unbound().maxActive(16).build();
      assertThat(wq.nodeNrActive(0).max).isEqualTo(8);
      assertThat(wq.nodeNrActive(1).max).isEqualTo(8);
      assertThat(wq.nodeNrActive(-1).max).isEqualTo(16);
      wq.applyAttrs(WorkqueueAttrs.defaults().withCpumask(twoSocket.nodeCpus(0)));
      assertThat(wq.nodeNrActive(0).max).as("all of it on node 0").isEqualTo(16);
      assertThat(wq.nodeNrActive(1).max).as("min_active floor").isEqualTo(8);
      wq.setMinActive(1);
      assertThat(wq.nodeNrActive(1).max).isEqualTo(1);
      wq.setMaxActive(40);
      wq.applyAttrs(WorkqueueAttrs.defaults().withCpumask(CpuMask.parseList("0-95")));
      // 64 CPUs on node 0, 32 on node 1 of 96: ceil(40*64/96)=27, ceil(40*32/96)=14
      assertThat(wq.nodeNrActive(0).max).isEqualTo(27);
      assertThat(wq.nodeNrActive(1).max).isEqualTo(14);
    }
  }

  @Test
  void setUnboundCpumask_movesEveryUnboundWorkqueue_allOrNothing() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().topology(ryzen).build()) {
      Workqueue wq = sys.workqueue("moved").unbound().build();
      Workqueue ordered = sys.workqueue("moved_ordered").ordered().build();
      sys.setUnboundCpumask(CpuMask.parseList("0-2,12-14"));
      assertThat(sys.unboundCpumask()).isEqualTo(CpuMask.parseList("0-2,12-14"));
      for (PoolWorkqueue pwq : wq.cpuPwqs()) {
        assertThat(pwq.pool.attrs.podCpumask().isSubsetOf(CpuMask.parseList("0-2,12-14"))).isTrue();
      }
      assertThat(ordered.dflPwq().pool.attrs.cpumask()).isEqualTo(CpuMask.parseList("0-2,12-14"));
      assertThat(wq.attrs().cpumask()).as("the request is kept").isEqualTo(ryzen.possible());
      assertThatThrownBy(() -> sys.setUnboundCpumask(CpuMask.of(30)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mask: 30");
      assertThat(sys.wqDump()).contains("wq_unbound_cpumask=00007007");
    }
  }

  @Test
  void orderedWorkqueueKeepsOrderAcrossCpumaskChanges() throws Exception {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().topology(ryzen).build()) {
      Workqueue wq = sys.workqueue("ordered_mask").ordered().build();
      List<Integer> order = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      Thread producer = new Thread(() -> {
        for (int i = 0; i < 20_000; i++) {
          int id = i;
          wq.queueWork(new Work(() -> order.add(id)));
        }
      });
      producer.start();
      for (int i = 0; i < 20; i++) {
        sys.setUnboundCpumask(ryzen.podCpus(AffinityScope.CACHE, i % 4));
      }
      producer.join();
      wq.flush();
      assertThat(order).hasSize(20_000).isSorted();
    }
  }

  @Test
  void wqDump_showsEverySection() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().topology(Topology.of(4, 1, 2, 1)).build()) {
      Workqueue netns = sys.workqueue("netns").ordered().build();
      String d = sys.wqDump();
      assertThat(d).contains("Affinity Scopes", "CACHE (default)", "Worker Pools",
          "Workqueue CPU -> pool", "Workqueue -> rescuer", "Unbound workqueue -> node_nr/max_active");
      // pool ids are global across systems: read them from the workqueues
      PoolWorkqueue[] ub = sys.systemUnbound().cpuPwqs();
      int dfl = sys.systemUnbound().dflPwq().pool.id;
      int p01 = ub[0].pool.id;
      int p23 = ub[2].pool.id;
      assertThat(ub[1].pool.id).isEqualTo(p01);
      assertThat(p23).isNotEqualTo(p01);
      assertThat(d).containsPattern("events_unbound\\s+unbound\\s+" + p01 + "\\s+" + p01 + "\\s+"
          + p23 + "\\s+" + p23 + "\\s+" + dfl);
      assertThat(netns.dflPwq().pool.id).isEqualTo(dfl);
      assertThat(d).containsPattern("netns\\s+ordered(\\s+" + dfl + "){5}");
      // CPUs 0 and 1 share one pwq on their pod's pool: one reference.
      assertThat(d).contains(String.format("pool[%02d] ref= 1 nice=  0", p01));
      assertThat(ub[1]).isSameAs(ub[0]);
    }
  }
}
