package dev.cmwq;

import static dev.cmwq.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 item 12: with a thread factory that fails, MEM_RECLAIM workqueues still make
 * progress through their rescuer; other workqueues stall (the watchdog says so) and recover
 * once threads can be created again. Nothing is lost or run twice.
 */
class RescuerTest {

  /** Fails on demand, the three ways a JVM thread factory fails. */
  static final class FlakyFactory implements ThreadFactory {
    final AtomicBoolean failing = new AtomicBoolean();
    final AtomicInteger refused = new AtomicInteger();

    @Override
    public Thread newThread(Runnable r) {
      if (failing.get()) {
        switch (refused.incrementAndGet() % 3) {
          case 0:
            throw new OutOfMemoryError("unable to create native thread: possibly out of memory"
                + " or process/resource limits reached (simulated)");
          case 1:
            throw new SecurityException("thread creation denied (simulated)");
          default:
            return null;
        }
      }
      Thread t = new Thread(r);
      t.setDaemon(true);
      return t;
    }
  }

  @Test
  void memReclaimChainCompletesWhileTheFactoryFails_plainStallsThenRecovers() {
    FlakyFactory factory = new FlakyFactory();
    List<WorkqueueSystem.Lockup> lockups = new CopyOnWriteArrayList<>();
    WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1).threadFactory(factory)
        .cpuIntensiveThreshold(Duration.ZERO)
        .watchdogThreshold(Duration.ofMillis(300)).onLockup(lockups::add).build();
    try {
      Workqueue reclaim = sys.workqueue("reclaim").memReclaim().build();
      Workqueue plain = sys.workqueue("plain").build();
      assertThat(TestSupport.threads("kworker/R-reclaim")).hasSize(1);

      factory.failing.set(true);
      AtomicInteger plainRuns = new AtomicInteger();
      plain.queueWorkOn(0, new Work(plainRuns::incrementAndGet));

      int n = 1000;
      AtomicIntegerArray ran = new AtomicIntegerArray(n);
      AtomicInteger done = new AtomicInteger();
      AtomicInteger onRescuer = new AtomicInteger();
      Work[] links = new Work[n];
      for (int i = 0; i < n; i++) {
        int id = i;
        links[i] = new Work(() -> {
          ran.incrementAndGet(id);
          if (Workqueues.currentIsRescuer()) {
            onRescuer.incrementAndGet();
          }
          done.incrementAndGet();
          if (id + 1 < n) {
            reclaim.queueWorkOn(0, links[id + 1]); // a chain: each item queues the next
          }
        });
      }
      reclaim.queueWorkOn(0, links[0]);
      await("the MEM_RECLAIM chain completes without new workers", () -> done.get() == n);
      assertThat(onRescuer.get()).as("run by the rescuer").isEqualTo(n);
      assertThat(reclaim.stats().rescued()).isEqualTo(n);
      assertThat(reclaim.stats().mayday()).isGreaterThanOrEqualTo(1);
      assertThat(plainRuns.get()).as("the plain workqueue is stalled").isZero();
      assertThat(factory.refused.get()).isGreaterThan(0);

      await("the watchdog reports the stalled pool", () -> !lockups.isEmpty());
      WorkqueueSystem.Lockup l = lockups.get(0);
      assertThat(l.poolId()).isEqualTo(sys.cpuPool(0, false).id);
      assertThat(l.report()).contains("BUG: workqueue lockup - pool cpus=0")
          .contains("workqueue plain: flags=0x0");
      assertThat(plain.stats().mayday()).as("no rescuer, no mayday").isZero();

      factory.failing.set(false);
      plain.flush();
      assertThat(plainRuns.get()).as("recovered").isEqualTo(1);
      reclaim.flush();
      for (int i = 0; i < n; i++) {
        assertThat(ran.get(i)).as("runs of link " + i).isEqualTo(1);
      }
      assertThat(TestSupport.invariantViolations(sys)).isEmpty();
    } finally {
      factory.failing.set(false);
      sys.close();
    }
    assertThat(TestSupport.threads("kworker/R-reclaim")).as("rescuer stopped").isEmpty();
  }

  @Test
  void rescuerFlushingItsOwnWorkqueue_failsFast_andFlushDependencyWarnsOnce() {
    FlakyFactory factory = new FlakyFactory();
    WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1).threadFactory(factory)
        .cpuIntensiveThreshold(Duration.ZERO).build();
    try {
      Workqueue reclaim = sys.workqueue("reclaim2").memReclaim().build();
      Workqueue plain = sys.workqueue("plain2").build();
      factory.failing.set(true);
      AtomicReference<Throwable> selfFlush = new AtomicReference<>();
      AtomicBoolean wasRescuer = new AtomicBoolean();
      Work second = new Work(() -> { });
      long warnings = Warn.count();
      Work first = new Work(() -> {
        wasRescuer.set(Workqueues.currentIsRescuer());
        reclaim.queueWorkOn(0, second);
        selfFlush.set(TestSupport.catching(second::flush));
        // MEM_RECLAIM flushing a workqueue without forward-progress guarantee: warned.
        TestSupport.catching(plain::flush);
      });
      reclaim.queueWorkOn(0, first);
      await("rescued", () -> selfFlush.get() != null);
      assertThat(wasRescuer.get()).isTrue();
      assertThat(selfFlush.get()).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("rescuer of workqueue reclaim2");
      factory.failing.set(false);
      reclaim.flush();
      plain.flush();
      assertThat(Warn.count()).as("check_flush_dependency warned").isGreaterThan(warnings);
    } finally {
      factory.failing.set(false);
      sys.close();
    }
  }

  @Test
  void aMemReclaimWorkqueueNeedsItsRescuerThread() {
    FlakyFactory factory = new FlakyFactory();
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1).threadFactory(factory).build()) {
      factory.failing.set(true);
      AtomicReference<Throwable> err = new AtomicReference<>(
          TestSupport.catching(() -> sys.workqueue("no_rescuer").memReclaim().build()));
      assertThat(err.get()).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("kworker/R-no_rescuer");
      factory.failing.set(false);
      assertThat(sys.workqueues()).noneMatch(w -> w.name().equals("no_rescuer"));
    }
  }
}
