package dev.cmwq.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.search.MeterNotFoundException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The binder reports what the workqueues did, follows their lifecycle, and tags by name. */
class WorkqueueMetricsTest {
  private final WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2).name("metrics")
      .jmx(false).build();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @AfterEach
  void tearDown() {
    sys.close();
  }

  private double count(String name, String wq) {
    return registry.get(name).tags("workqueue", wq, "system", "metrics").functionCounter()
        .count();
  }

  private static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!cond.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition in time").isLessThan(deadline);
      Thread.sleep(5);
    }
  }

  @Test
  void countersFollowTheStats_forWorkqueuesBeforeAndAfterBinding() throws Exception {
    Workqueue before = sys.workqueue("before").build();
    WorkqueueMetrics metrics = new WorkqueueMetrics(sys, Tags.of("app", "test"));
    metrics.bindTo(registry);
    Workqueue after = sys.workqueue("after").unbound().maxActive(3).build();

    for (int i = 0; i < 7; i++) {
      before.queueWork(new Work(() -> { }));
    }
    after.queueWork(new Work(() -> {
      throw new IllegalStateException("counted as failed");
    }));
    before.flush();
    after.flush();
    waitFor(() -> before.stats().completed() == 7 && after.stats().completed() == 1);
    Thread.sleep(WorkqueueMetrics.SNAPSHOT_MILLIS + 20); // let the snapshot expire

    assertThat(count("cmwq.workqueue.started", "before")).isEqualTo(7);
    assertThat(count("cmwq.workqueue.completed", "before")).isEqualTo(7);
    assertThat(count("cmwq.workqueue.failed", "after")).isEqualTo(1);
    assertThat(count("cmwq.workqueue.cpu.time", "before")).isGreaterThanOrEqualTo(0);
    FunctionCounter cpu = registry.get("cmwq.workqueue.cpu.time").tags("workqueue", "before")
        .functionCounter();
    assertThat(cpu.getId().getBaseUnit()).isEqualTo("nanoseconds");
    assertThat(registry.get("cmwq.workqueue.max.active").tags("workqueue", "after").gauge()
        .value()).isEqualTo(3);
    assertThat(registry.get("cmwq.workqueue.in.flight").tags("workqueue", "before").gauge()
        .value()).isZero();
    assertThat(registry.get("cmwq.workqueue.started").tags("app", "test").meters())
        .as("extra tags on every meter").hasSizeGreaterThanOrEqualTo(9);
    assertThat(registry.get("cmwq.workqueues").tags("system", "metrics").gauge().value())
        .isEqualTo(sys.workqueues().size());
    metrics.close();
  }

  @Test
  void inFlightGauge_seesRunningItems() throws Exception {
    new WorkqueueMetrics(sys).bindTo(registry);
    Workqueue wq = sys.workqueue("busy").build();
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    wq.queueWork(new Work(() -> {
      started.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    started.await();
    Thread.sleep(WorkqueueMetrics.SNAPSHOT_MILLIS + 20);
    assertThat(registry.get("cmwq.workqueue.in.flight").tags("workqueue", "busy").gauge().value())
        .isEqualTo(1);
    release.countDown();
    wq.flush();
  }

  @Test
  void destroyedWorkqueues_loseTheirMeters_andCloseStopsFollowing() {
    WorkqueueMetrics metrics = new WorkqueueMetrics(sys);
    metrics.bindTo(registry);
    Workqueue wq = sys.workqueue("short_lived").build();
    assertThat(registry.find("cmwq.workqueue.started").tags("workqueue", "short_lived")
        .functionCounter()).isNotNull();
    wq.destroy();
    assertThatThrownBy(() -> registry.get("cmwq.workqueue.started")
        .tags("workqueue", "short_lived").functionCounter())
        .isInstanceOf(MeterNotFoundException.class);
    metrics.close();
    sys.workqueue("unfollowed").build();
    assertThat(registry.find("cmwq.workqueue.started").tags("workqueue", "unfollowed")
        .functionCounter()).isNull();
    assertThatThrownBy(() -> new WorkqueueMetrics(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("system");
  }

  @Test
  void twoRegistries_bothGetEveryWorkqueue() {
    SimpleMeterRegistry second = new SimpleMeterRegistry();
    WorkqueueMetrics metrics = new WorkqueueMetrics(sys);
    metrics.bindTo(registry);
    metrics.bindTo(second);
    sys.workqueue("shared").build();
    assertThat(registry.find("cmwq.workqueue.completed").tags("workqueue", "shared")
        .functionCounter()).isNotNull();
    assertThat(second.find("cmwq.workqueue.completed").tags("workqueue", "shared")
        .functionCounter()).isNotNull();
    assertThat(second.find("cmwq.workqueue.completed").tags("workqueue", "events")
        .functionCounter()).isNotNull();
    metrics.close();
  }
}
