package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §8: null arguments name the parameter; out-of-range numbers say what was expected;
 * lifecycle misuse and deadlock-prone calls fail fast instead of hanging.
 */
class BadInputTest {
  private final WorkqueueSystem sys = TestSupport.newSystem();

  @AfterEach
  void tearDown() {
    TestSupport.closeAndCheck(sys);
  }

  @Test
  void nullArgumentsNameTheParameter() {
    Workqueue wq = sys.workqueue("nulls").build();
    assertThatThrownBy(() -> wq.queueWork(null)).isInstanceOf(NullPointerException.class).hasMessage("work");
    assertThatThrownBy(() -> wq.queueWorkOn(0, null)).isInstanceOf(NullPointerException.class).hasMessage("work");
    assertThatThrownBy(() -> wq.execute(null)).isInstanceOf(NullPointerException.class).hasMessage("task");
    assertThatThrownBy(() -> wq.applyAttrs(null)).isInstanceOf(NullPointerException.class).hasMessage("attrs");
    assertThatThrownBy(() -> new Work((Runnable) null)).isInstanceOf(NullPointerException.class).hasMessage("fn");
    assertThatThrownBy(() -> new Work((WorkFunction) null)).isInstanceOf(NullPointerException.class).hasMessage("fn");
    assertThatThrownBy(() -> sys.workqueue(null)).isInstanceOf(NullPointerException.class).hasMessage("name");
    assertThatThrownBy(() -> Workqueues.managedBlock(null)).isInstanceOf(NullPointerException.class).hasMessage("blocker");
    assertThatThrownBy(() -> WorkqueueSystem.builder().threadFactory(null)).isInstanceOf(NullPointerException.class).hasMessage("threadFactory");
    assertThatThrownBy(() -> WorkqueueSystem.builder().cpuIntensiveThreshold(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> sys.workOnCpu(0, null)).isInstanceOf(NullPointerException.class).hasMessage("fn");
  }

  @Test
  void outOfRangeNumbersSayWhatWasExpected() {
    Workqueue wq = sys.workqueue("ranges").build();
    Work w = new Work(() -> { });
    assertThatThrownBy(() -> wq.queueWorkOn(2, w)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("cpu: 2 (expected: 0-1)");
    assertThatThrownBy(() -> wq.queueWorkOn(-7, w)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("cpu: -7 (expected: 0-1)");
    assertThat(w.isPending()).isFalse();
    assertThatThrownBy(() -> wq.queueWorkNode(3, w)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("node: 3 (expected: -1-0)");
    assertThatThrownBy(() -> wq.isCongested(5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> sys.workqueue("x").maxActive(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxActive: -1 (expected: >= 0)");
    assertThatThrownBy(() -> wq.setMaxActive(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> WorkqueueSystem.builder().cpus(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("cpus: 0");
    assertThatThrownBy(() -> WorkqueueSystem.builder().cpuIntensiveThreshold(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: >= 0");
    assertThatThrownBy(() -> WorkqueueSystem.builder().idleWorkerTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: > 0");
    assertThatThrownBy(() -> WorkqueueAttrs.defaults().withNice(20)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("nice: 20 (expected: -20-19)");
    assertThatThrownBy(() -> WorkqueueSystem.builder().cpus(3).topology(Topology.of(2, 1, 2, 1)).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpus: 3");
    assertThatThrownBy(() -> sys.workqueue("")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void maxActiveAbove512_isClampedWithOneWarning() {
    long before = Warn.count();
    Workqueue wq = sys.workqueue("clamp_once").maxActive(100_000).build();
    assertThat(wq.maxActive()).isEqualTo(512);
    assertThat(Warn.count()).isEqualTo(before + 1);
  }

  @Test
  void lifecycleMisuseIsAnIllegalStateException() {
    Workqueue ordered = sys.workqueue("ord").ordered().build();
    assertThatThrownBy(() -> ordered.setMaxActive(4)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ordered");
    assertThatThrownBy(() -> ordered.setMinActive(1)).isInstanceOf(IllegalStateException.class);
    Workqueue percpu = sys.workqueue("pc").build();
    assertThatThrownBy(() -> percpu.applyAttrs(WorkqueueAttrs.defaults())).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("per-CPU");
    assertThatThrownBy(() -> percpu.setMinActive(1)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> sys.workqueue("bad").ordered().maxActive(3).build())
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> sys.system().destroy()).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> WorkqueueSystem.getDefault().close()).isInstanceOf(IllegalStateException.class);
    Workqueue unbound = sys.workqueue("ub").unbound().build();
    assertThatThrownBy(() -> unbound.applyAttrs(WorkqueueAttrs.defaults().withCpumask(CpuMask.of(5))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cpumask: 5");
    unbound.destroy();
    assertThatThrownBy(() -> unbound.applyAttrs(WorkqueueAttrs.defaults())).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> unbound.queueWork(new Work(() -> { })))
        .isInstanceOf(RejectedExecutionException.class);
    assertThatThrownBy(() -> unbound.execute(() -> { })).isInstanceOf(RejectedExecutionException.class);
  }

  @Test
  void closedSystemRefusesNewWorkqueues() {
    WorkqueueSystem s = TestSupport.newSystem();
    Workqueue wq = s.workqueue("before").build();
    s.close();
    s.close(); // idempotent
    assertThatThrownBy(() -> s.workqueue("after").build()).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> wq.queueWork(new Work(() -> { }))).isInstanceOf(RejectedExecutionException.class);
  }

  @Test
  void flushingYourOwnOrderedWorkqueueFromAnItem_failsFast() {
    Workqueue ordered = sys.workqueue("ord_self").ordered().build();
    CountDownLatch gate = new CountDownLatch(1);
    Work later = new Work(() -> { });
    AtomicReference<Throwable> wqFlush = new AtomicReference<>();
    AtomicReference<Throwable> itemFlush = new AtomicReference<>();
    AtomicReference<Throwable> selfFlush = new AtomicReference<>();
    AtomicReference<Throwable> selfCancel = new AtomicReference<>();
    Work[] self = new Work[1];
    self[0] = new Work(() -> {
      QueueWorkTest.awaitQuietly(gate);
      wqFlush.set(TestSupport.catching(ordered::flush));
      itemFlush.set(TestSupport.catching(later::flush));
      selfFlush.set(TestSupport.catching(self[0]::flush));
      selfCancel.set(TestSupport.catching(self[0]::cancelSync));
    });
    ordered.queueWork(self[0]);
    ordered.queueWork(later);
    gate.countDown();
    ordered.flush();
    assertThat(wqFlush.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("deadlock");
    assertThat(itemFlush.get()).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("queued behind the caller");
    assertThat(selfFlush.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("itself");
    assertThat(selfCancel.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("itself");
  }

  @Test
  void closingTheSystemFromItsOwnWorker_failsFast() {
    Workqueue wq = sys.workqueue("close_self").build();
    AtomicReference<Throwable> err = new AtomicReference<>();
    wq.queueWork(new Work(() -> err.set(TestSupport.catching(sys::close))));
    wq.flush();
    assertThat(err.get()).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void longNamesAreTruncatedWithAWarning() {
    String longName = "a_workqueue_name_that_is_far_too_long_for_the_kernel";
    Workqueue wq = sys.workqueue(longName).build();
    assertThat(wq.name()).hasSize(31).isEqualTo(longName.substring(0, 31));
  }

  @Test
  void threadFactoryThatFailsAtStartup_failsTheBuildCleanly() {
    assertThatThrownBy(() -> WorkqueueSystem.builder().cpus(1)
        .threadFactory(r -> null).build()).isInstanceOf(IllegalStateException.class);
    // Threads made at build: pool_workqueue_release, wq_timer, kworker/0:0, kworker/0:0H,
    // wq_worker_tick.
    for (int allowed = 0; allowed < 5; allowed++) {
      int[] made = {0};
      int limit = allowed;
      assertThatThrownBy(() -> WorkqueueSystem.builder().cpus(1).threadFactory(r -> {
        if (++made[0] > limit) {
          throw new OutOfMemoryError("unable to create native thread: simulated");
        }
        Thread t = new Thread(r);
        t.setDaemon(true);
        return t;
      }).build()).as("failing after " + allowed + " threads")
          .isInstanceOf(IllegalStateException.class);
    }
  }
}
