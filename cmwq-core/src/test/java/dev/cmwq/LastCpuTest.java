package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The per-thread cache of the OS's CPU behind {@code queueWork}'s local CPU. */
class LastCpuTest {
  @Test
  void readsTheOsOncePerRereadInterval_andFollowsAMigration() {
    Topology topo = Topology.flat(4);
    AtomicInteger reads = new AtomicInteger();
    AtomicInteger os = new AtomicInteger(2);
    OsSupport.LastCpu last = new OsSupport.LastCpu();
    for (int i = 0; i < 3 * OsSupport.CPU_REREAD; i++) {
      assertThat(last.cpu(topo, () -> {
        reads.incrementAndGet();
        return os.get();
      })).isEqualTo(2);
    }
    assertThat(reads.get()).isEqualTo(3);
    os.set(1); // migrated: seen at the next re-read at the latest
    int seenAfter = -1;
    for (int i = 1; i <= OsSupport.CPU_REREAD; i++) {
      if (last.cpu(topo, os::get) == 1) {
        seenAfter = i;
        break;
      }
    }
    assertThat(seenAfter).isBetween(1, OsSupport.CPU_REREAD);
  }

  @Test
  void mapsOsIdsThroughEachTopology_andReportsUnknownAsMinusOne() {
    OsSupport.LastCpu last = new OsSupport.LastCpu();
    assertThat(last.cpu(Topology.flat(4), () -> 3)).isEqualTo(3);
    assertThat(last.cpu(Topology.flat(2), () -> 3)).as("OS CPU 3 is not in a 2-CPU system")
        .isEqualTo(-1);
    OsSupport.LastCpu none = new OsSupport.LastCpu();
    assertThat(none.cpu(Topology.flat(2), () -> -1)).isEqualTo(-1);
  }
}
