package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@link CpuMask} formats and {@link Topology} pods. */
class CpuMaskTopologyTest {

  @Test
  void listAndHexRoundTrip() {
    CpuMask m = CpuMask.parse("0-3,8,10-11");
    assertThat(m.cardinality()).isEqualTo(7);
    assertThat(m.toList()).isEqualTo("0-3,8,10-11");
    assertThat(m.toHex()).isEqualTo("d0f");
    assertThat(CpuMask.parse("d0f")).isEqualTo(m);
    assertThat(CpuMask.parse("ff,ffffffff").cardinality()).isEqualTo(40);
    assertThat(CpuMask.parse("ff,ffffffff").toList()).isEqualTo("0-39");
    assertThat(CpuMask.range(0, 39).toHex()).isEqualTo("ff,ffffffff");
    assertThat(CpuMask.parse("0x3")).isEqualTo(CpuMask.of(0, 1));
    assertThat(CpuMask.parse("3")).isEqualTo(CpuMask.of(3)); // a lone number is a list
    assertThat(CpuMask.empty().toHex()).isEqualTo("0");
    assertThat(CpuMask.empty().toList()).isEmpty();
    assertThat(CpuMask.of(64, 65).toHex()).isEqualTo("3,00000000,00000000");
  }

  @Test
  void setOperations() {
    CpuMask a = CpuMask.range(0, 7);
    CpuMask b = CpuMask.of(6, 7, 8, 100);
    assertThat(a.and(b)).isEqualTo(CpuMask.of(6, 7));
    assertThat(a.or(b).cardinality()).isEqualTo(10);
    assertThat(a.intersects(b)).isTrue();
    assertThat(CpuMask.of(1, 2).isSubsetOf(a)).isTrue();
    assertThat(b.isSubsetOf(a)).isFalse();
    assertThat(b.stream().toArray()).containsExactly(6, 7, 8, 100);
    assertThat(b.next(9)).isEqualTo(100);
    assertThat(b.next(101)).isEqualTo(-1);
  }

  @Test
  void badTextNamesTheText() {
    assertThatThrownBy(() -> CpuMask.parse("1-x")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"1-x\"");
    assertThatThrownBy(() -> CpuMask.parse("5-2")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> CpuMask.parseHex("zz")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("hex mask");
    assertThatThrownBy(() -> CpuMask.parse("0-9000")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> CpuMask.of(-1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void podsPerScope() {
    // 2 nodes x 2 caches x 2 cores x 2 threads = 16 CPUs.
    Topology t = Topology.of(16, 2, 2, 2);
    assertThat(t.cpus()).isEqualTo(16);
    assertThat(t.nodes()).isEqualTo(2);
    assertThat(t.podCount(AffinityScope.CPU)).isEqualTo(16);
    assertThat(t.podCount(AffinityScope.SMT)).isEqualTo(8);
    assertThat(t.podCount(AffinityScope.CACHE)).isEqualTo(4);
    assertThat(t.podCount(AffinityScope.DEFAULT)).isEqualTo(4);
    assertThat(t.podCount(AffinityScope.NUMA)).isEqualTo(2);
    assertThat(t.podCount(AffinityScope.SYSTEM)).isEqualTo(1);
    assertThat(t.podCpus(AffinityScope.CACHE, 1)).isEqualTo(CpuMask.range(4, 7));
    assertThat(t.cpuPod(AffinityScope.NUMA, 9)).isEqualTo(1);
    assertThat(t.nodeCpus(1)).isEqualTo(CpuMask.range(8, 15));
    assertThat(Topology.flat(3).podCount(AffinityScope.CACHE)).isEqualTo(1);
  }

  @Test
  void unboundPwqsFollowThePods() {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().topology(Topology.of(8, 2, 2, 1)).build()) {
      Workqueue wq = sys.workqueue("pods").unbound().build();
      PoolWorkqueue[] slots = wq.cpuPwqs();
      // CACHE scope: CPUs 0-3 share a pool, 4-7 another; CPUs of one pool share its pwq.
      assertThat(slots[0].pool).isSameAs(slots[3].pool).isNotSameAs(slots[4].pool);
      assertThat(slots[0]).isSameAs(slots[1]).isSameAs(slots[3]).isNotSameAs(slots[4]);
      assertThat(slots[4]).isSameAs(slots[7]).isNotSameAs(wq.dflPwq());
      assertThat(wq.pwqs()).hasSize(3);
      assertThat(slots[4].pool.attrs.podCpumask()).isEqualTo(CpuMask.range(4, 7));
      assertThat(wq.dflPwq().pool.attrs.podCpumask()).isEqualTo(CpuMask.range(0, 7));
      wq.applyAttrs(WorkqueueAttrs.defaults().withAffinityScope(AffinityScope.SMT)
          .withCpumask(CpuMask.range(0, 5)));
      slots = wq.cpuPwqs();
      assertThat(slots[2].pool.attrs.podCpumask()).isEqualTo(CpuMask.of(2, 3));
      // CPUs outside the mask use the whole effective mask (the dfl pool's CPUs).
      assertThat(slots[7].pool.attrs.podCpumask()).isEqualTo(CpuMask.range(0, 5));
      assertThat(slots[7]).as("same pool as the default pwq: shares it").isSameAs(wq.dflPwq());
      assertThat(wq.attrs().cpumask()).isEqualTo(CpuMask.range(0, 5));
      assertThat(wq.attrs().affinityScope()).isEqualTo(AffinityScope.SMT);
      Workqueue ordered = sys.workqueue("pods_ordered").ordered().build();
      assertThat(ordered.cpuPwqs()).allMatch(p -> p == ordered.dflPwq());
    }
  }
}
