package dev.cmwq;

import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.InvalidAttributeValueException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §5 and issue 6: the MBeans, read and written through the platform MBeanServer as a JMX
 * client would (by name, with open types only).
 */
class JmxTest {
  private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
  private final WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).name("jmxtest").build();

  @AfterEach
  void tearDown() throws Exception {
    TestSupport.closeAndCheck(sys);
    assertThat(server.queryNames(new ObjectName("dev.cmwq:system=jmxtest,*"), null))
        .as("every workqueue bean is gone after close").isEmpty();
    assertThat(server.isRegistered(systemName())).as("system bean gone").isFalse();
  }

  private static ObjectName systemName() throws Exception {
    return new ObjectName("dev.cmwq:type=WorkqueueSystem,name=jmxtest");
  }

  private static ObjectName wqName(String wq) throws Exception {
    return new ObjectName("dev.cmwq:type=Workqueue,system=jmxtest,name=" + Jmx.value(wq));
  }

  private Object get(ObjectName name, String attribute) throws Exception {
    return server.getAttribute(name, attribute);
  }

  private void set(ObjectName name, String attribute, Object value) throws Exception {
    server.setAttribute(name, new Attribute(attribute, value));
  }

  @Test
  void everyWorkqueueHasABean_withFlagsLimitsAndStats() throws Exception {
    assertThat(server.isRegistered(wqName("events"))).isTrue();
    assertThat(server.isRegistered(wqName("events_unbound"))).isTrue();
    Workqueue wq = sys.workqueue("jmx_stats").maxActive(4).build();
    ObjectName name = wqName("jmx_stats");
    for (int i = 0; i < 10; i++) {
      wq.queueWork(new Work(() -> { }));
    }
    wq.queueWork(new Work(() -> {
      throw new IllegalStateException("counted");
    }));
    wq.flush();
    assertThat(get(name, "name")).isEqualTo("jmx_stats");
    assertThat((String[]) get(name, "flags")).isEmpty();
    assertThat(get(name, "per_cpu")).isEqualTo(true);
    assertThat(get(name, "max_active")).isEqualTo(4);
    await("stats settled", () -> wq.stats().completed() == 11);
    AttributeList stats = server.getAttributes(name, new String[] {"started", "completed",
        "failed", "cpuTimeNanos", "nonsense"});
    assertThat(stats.asList()).extracting(Attribute::getName)
        .containsExactly("started", "completed", "failed", "cpuTimeNanos");
    assertThat(stats.asList()).extracting(Attribute::getValue).startsWith(11L, 11L, 1L);
    assertThatThrownBy(() -> get(name, "nonsense"))
        .isInstanceOf(AttributeNotFoundException.class);

    wq.destroy();
    assertThat(server.isRegistered(name)).as("destroy unregisters").isFalse();
  }

  @Test
  void notSysfs_everythingIsReadOnly() throws Exception {
    sys.workqueue("jmx_ro").unbound().build();
    ObjectName name = wqName("jmx_ro");
    for (MBeanAttributeInfo a : server.getMBeanInfo(name).getAttributes()) {
      assertThat(a.isWritable()).as(a.getName()).isFalse();
    }
    assertThat(get(name, "nice")).isEqualTo(0);
    assertThatThrownBy(() -> set(name, "max_active", 8))
        .isInstanceOf(AttributeNotFoundException.class).hasMessageContaining("SYSFS");
    assertThatThrownBy(() -> set(name, "started", 8L))
        .isInstanceOf(AttributeNotFoundException.class).hasMessageContaining("read-only");
  }

  @Test
  void sysfsUnbound_knobsWriteThrough_andBadValuesChangeNothing() throws Exception {
    Workqueue wq = sys.workqueue("jmx_rw").unbound().sysfs().build();
    ObjectName name = wqName("jmx_rw");
    assertThat(Arrays.stream(server.getMBeanInfo(name).getAttributes())
        .filter(MBeanAttributeInfo::isWritable).map(MBeanAttributeInfo::getName))
        .containsExactlyInAnyOrder("max_active", "nice", "cpumask", "affinity_scope",
            "affinity_strict");

    set(name, "max_active", 8);
    assertThat(wq.maxActive()).isEqualTo(8);
    assertThat(get(name, "max_active")).isEqualTo(8);
    for (Object bad : new Object[] {0, -3, "8", null}) {
      assertThatThrownBy(() -> set(name, "max_active", bad)).as("max_active %s", bad)
          .isInstanceOf(InvalidAttributeValueException.class)
          .hasMessageContaining("max_active");
    }
    set(name, "max_active", 4096); // the kernel clamps with a warning
    assertThat(wq.maxActive()).isEqualTo(Workqueue.WQ_MAX_ACTIVE);

    set(name, "nice", -5);
    assertThat(wq.attrs().nice()).isEqualTo(-5);
    assertThatThrownBy(() -> set(name, "nice", 20))
        .isInstanceOf(InvalidAttributeValueException.class).hasMessage("nice: 20 (expected: -20..19)");
    assertThat(wq.attrs().nice()).isEqualTo(-5);

    assertThat(get(name, "cpumask")).isEqualTo(CpuMask.parseList("0-1").toHex());
    set(name, "cpumask", "1"); // hex: CPU 0
    assertThat(wq.attrs().cpumask()).isEqualTo(CpuMask.of(0));
    set(name, "cpumask", "3");
    assertThat(wq.attrs().cpumask()).isEqualTo(CpuMask.parseList("0-1"));
    assertThatThrownBy(() -> set(name, "cpumask", "0-1")) // hex only, as sysfs
        .isInstanceOf(InvalidAttributeValueException.class);
    assertThatThrownBy(() -> set(name, "cpumask", "zz"))
        .isInstanceOf(InvalidAttributeValueException.class).hasMessageContaining("zz");
    assertThat(wq.attrs().cpumask()).isEqualTo(CpuMask.parseList("0-1"));

    assertThat(get(name, "affinity_scope")).isEqualTo("default (cache)");
    set(name, "affinity_scope", "numa");
    assertThat(wq.attrs().affinityScope()).isEqualTo(AffinityScope.NUMA);
    assertThat(get(name, "affinity_scope")).isEqualTo("numa");
    assertThatThrownBy(() -> set(name, "affinity_scope", "NUMA-ish"))
        .isInstanceOf(InvalidAttributeValueException.class)
        .hasMessageContaining("default, cpu, smt, cache, numa, system");
    assertThat(wq.attrs().affinityScope()).isEqualTo(AffinityScope.NUMA);

    set(name, "affinity_strict", true);
    assertThat(wq.attrs().affinityStrict()).isTrue();
    assertThat(get(name, "affinity_strict")).isEqualTo(true);
    assertThatThrownBy(() -> set(name, "affinity_strict", 1))
        .isInstanceOf(InvalidAttributeValueException.class);

    // The workqueue still works after all that.
    CountDownLatch ran = new CountDownLatch(1);
    wq.queueWork(new Work(ran::countDown));
    assertThat(ran.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void sysfsPerCpu_hasMaxActiveOnly() throws Exception {
    Workqueue wq = sys.workqueue("jmx_pcpu").sysfs().build();
    ObjectName name = wqName("jmx_pcpu");
    set(name, "max_active", 3);
    assertThat(wq.maxActive()).isEqualTo(3);
    assertThatThrownBy(() -> get(name, "nice")).isInstanceOf(AttributeNotFoundException.class);
    assertThatThrownBy(() -> set(name, "nice", 1)).isInstanceOf(AttributeNotFoundException.class);
  }

  @Test
  void nameClashesAndOddNames_getTheirOwnBeans() throws Exception {
    Workqueue a = sys.workqueue("dup").build();
    Workqueue b = sys.workqueue("dup").build();
    ObjectName second = new ObjectName(wqName("dup") + ",instance=2");
    assertThat(server.isRegistered(wqName("dup"))).isTrue();
    assertThat(server.isRegistered(second)).isTrue();
    b.destroy();
    assertThat(server.isRegistered(second)).isFalse();
    assertThat(server.isRegistered(wqName("dup"))).isTrue();
    a.destroy();

    sys.workqueue("odd,name=x:\"y\"*").build();
    ObjectName odd = wqName("odd,name=x:\"y\"*");
    assertThat(odd.getKeyProperty("name")).startsWith("\"");
    assertThat(get(odd, "name")).isEqualTo("odd,name=x:\"y\"*");

    // A second system of the same name does not collide either.
    try (WorkqueueSystem twin = WorkqueueSystem.builder().cpus(1).name("jmxtest").build()) {
      assertThat(server.isRegistered(new ObjectName(systemName() + ",instance=2"))).isTrue();
      assertThat(server.isRegistered(new ObjectName(wqName("events") + ",instance=2")))
          .isTrue();
      assertThat(twin.name()).isEqualTo("jmxtest");
    }
    assertThat(server.isRegistered(new ObjectName(systemName() + ",instance=2"))).isFalse();
  }

  @Test
  void systemBean_globalsPoolsDumps_andTheUnboundCpumask() throws Exception {
    ObjectName name = systemName();
    assertThat(get(name, "cpus")).isEqualTo(2);
    assertThat(get(name, "freezing")).isEqualTo(false);
    assertThat((String[]) get(name, "workqueues")).contains("events", "events_unbound");
    CompositeData[] pools = (CompositeData[]) get(name, "pools");
    assertThat(pools.length).isGreaterThanOrEqualTo(4);
    assertThat(pools[0].get("cpu")).isEqualTo(0);
    assertThat(pools[1].get("nice")).isEqualTo(-20); // the highpri pool of CPU 0
    assertThat((int) pools[0].get("workers")).isGreaterThanOrEqualTo(1);

    assertThat((String) server.invoke(name, "wqDump", null, null)).contains("Affinity Scopes");
    assertThat((String) server.invoke(name, "dump", null, null)).contains("workqueues");

    set(name, "unbound_cpumask", "2"); // hex: CPU 1
    assertThat(sys.unboundCpumask()).isEqualTo(CpuMask.of(1));
    assertThat(get(name, "unbound_cpumask")).isEqualTo(CpuMask.of(1).toHex());
    assertThatThrownBy(() -> set(name, "unbound_cpumask", "nope"))
        .isInstanceOf(InvalidAttributeValueException.class);
    assertThatThrownBy(() -> set(name, "unbound_cpumask", "4")) // CPU 2: not in this system
        .isInstanceOf(InvalidAttributeValueException.class).hasMessageContaining("mask");
    assertThat(sys.unboundCpumask()).isEqualTo(CpuMask.of(1));
    assertThatThrownBy(() -> set(name, "cpus", 4)).isInstanceOf(AttributeNotFoundException.class);
  }

  @Test
  void jmxOff_registersNothing() throws Exception {
    try (WorkqueueSystem quiet = WorkqueueSystem.builder().cpus(1).name("jmxoff").jmx(false)
        .build()) {
      quiet.workqueue("x").build();
      assertThat(server.queryNames(new ObjectName("dev.cmwq:*,name=jmxoff"), null)).isEmpty();
      assertThat(server.queryNames(new ObjectName("dev.cmwq:*,system=jmxoff"), null)).isEmpty();
    }
  }
}
