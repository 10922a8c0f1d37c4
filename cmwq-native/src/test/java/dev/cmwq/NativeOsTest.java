package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * With cmwq-native on the class path, worker threads are pinned and niced as their pools say:
 * checked by reading each worker's {@code /proc/self/task/<tid>/status} (Cpus_allowed_list) and
 * {@code stat} (nice) back from the kernel.
 */
class NativeOsTest {

  static String allowedCpus(int tid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/task/" + tid + "/status"))) {
      if (line.startsWith("Cpus_allowed_list:")) {
        return line.substring(line.indexOf(':') + 1).strip();
      }
    }
    throw new AssertionError("no Cpus_allowed_list for " + tid);
  }

  static int nice(int tid) throws IOException {
    String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Integer.parseInt(f[16]); // field 19 of stat; f[0] is field 3
  }

  /** Whether this process may raise a thread's priority (root or CAP_SYS_NICE). */
  static boolean mayRaisePriority() throws InterruptedException {
    AtomicBoolean ok = new AtomicBoolean();
    Thread t = new Thread(() -> ok.set(OsSupport.OS.setCurrentThreadNice(-20)));
    t.start();
    t.join();
    return ok.get();
  }

  static List<Worker> workers(WorkerPool pool) {
    pool.lock.lock();
    try {
      return new ArrayList<>(pool.workers);
    } finally {
      pool.lock.unlock();
    }
  }

  static void awaitTids(List<Worker> ws) {
    TestSupport.await("worker tids", () -> ws.stream().allMatch(w -> w.nativeTid > 0));
  }

  @Test
  void theLinuxIntegrationIsFound() {
    assertThat(OsSupport.NATIVE).isTrue();
    assertThat(OsSupport.OS.name()).startsWith("linux");
    assertThat(OsSupport.OS.currentOsCpu()).isBetween(0, Runtime.getRuntime().availableProcessors() - 1);
  }

  @Test
  void perCpuWorkersArePinnedToTheirCpu_andHighpriRunsAtNiceMinus20() throws Exception {
    boolean raise = mayRaisePriority();
    try (WorkqueueSystem sys = WorkqueueSystem.builder().build()) { // detected topology
      Topology topo = sys.topology();
      for (int cpu = 0; cpu < sys.cpus(); cpu++) {
        for (boolean hi : new boolean[] {false, true}) {
          List<Worker> ws = workers(sys.cpuPool(cpu, hi));
          assertThat(ws).isNotEmpty();
          awaitTids(ws);
          for (Worker w : ws) {
            assertThat(allowedCpus(w.nativeTid)).as(w + " affinity")
                .isEqualTo(String.valueOf(topo.osCpuId(cpu)));
            assertThat(nice(w.nativeTid)).as(w + " nice").isEqualTo(hi && raise ? -20 : 0);
          }
        }
      }
    }
  }

  @Test
  void unboundWorkersFollowTheirPoolsAttributes() throws Exception {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().build()) {
      Topology topo = sys.topology();
      int last = sys.cpus() - 1;
      Workqueue wq = sys.workqueue("pinned").unbound().build();
      wq.applyAttrs(WorkqueueAttrs.defaults().withNice(5).withCpumask(CpuMask.of(last))
          .withAffinityStrict(true));
      WorkerPool pool = wq.dflPwq().pool;
      List<Worker> ws = workers(pool);
      awaitTids(ws);
      for (Worker w : ws) {
        assertThat(allowedCpus(w.nativeTid)).isEqualTo(String.valueOf(topo.osCpuId(last)));
        assertThat(nice(w.nativeTid)).isEqualTo(5);
      }
      // and the items really run there
      AtomicReference<Integer> ranOn = new AtomicReference<>();
      Work work = new Work(() -> ranOn.set(OsSupport.OS.currentOsCpu()));
      wq.queueWork(work);
      work.flush();
      assertThat(ranOn.get()).isEqualTo(topo.osCpuId(last));
    }
  }

  @Test
  void queueWorkUsesTheCallersRealCpu() throws Exception {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().build()) {
      Topology topo = sys.topology();
      Workqueue wq = sys.workqueue("local").build();
      for (int cpu = 0; cpu < sys.cpus(); cpu++) {
        int target = cpu;
        AtomicReference<String> ranOn = new AtomicReference<>();
        Thread producer = new Thread(() -> {
          assertThat(OsSupport.OS.setCurrentThreadAffinity(CpuMask.of(topo.osCpuId(target)))).isTrue();
          Work w = new Work(() -> ranOn.set(Thread.currentThread().getName()));
          wq.queueWork(w); // no CPU given: the producer's
          w.flush();
        });
        producer.start();
        producer.join();
        assertThat(ranOn.get()).startsWith("kworker/" + target + ":");
      }
    }
  }
}
