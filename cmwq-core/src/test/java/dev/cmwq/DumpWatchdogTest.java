package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** {@code show_all_workqueues()} text and the lockup watchdog (reference §8.4, §8.5). */
class DumpWatchdogTest {

  static final class Handler implements Runnable {
    @Override
    public void run() {
    }
  }

  @Test
  void dump_showsBusyWorkqueuesPwqsAndPools_inTheKernelLayout() throws Exception {
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1).build()) {
      assertThat(sys.dump()).isEqualTo("Showing busy workqueues and worker pools:\n");
      Workqueue wq = sys.workqueue("dumpwq").maxActive(4).build();
      CountDownLatch started = new CountDownLatch(1);
      CountDownLatch gate = new CountDownLatch(1);
      Work blocker = new Work(() -> {
        started.countDown();
        QueueWorkTest.awaitQuietly(gate);
      });
      wq.queueWorkOn(0, blocker);
      QueueWorkTest.awaitQuietly(started);
      // The blocker sleeps in a latch: the tick lets the pool start other items, so occupy
      // the remaining slots with more blockers and keep the rest waiting.
      for (int i = 0; i < 3; i++) {
        wq.queueWorkOn(0, new Work(() -> QueueWorkTest.awaitQuietly(gate)));
      }
      Work[] same = {new Work(new Handler()), new Work(new Handler()), new Work(new Handler())};
      for (Work w : same) {
        wq.queueWorkOn(0, w); // inactive: 4 active already
      }
      Thread flusher = new Thread(blocker::flush, "flusher");
      flusher.start();
      try {
        TestSupport.await("flusher waiting", () -> flusher.getState() == Thread.State.WAITING);
        TestSupport.await("four active", () -> sys.dump().contains("active=4"));
        String dump = sys.dump();
        assertThat(dump).startsWith("Showing busy workqueues and worker pools:\n")
            .contains("workqueue dumpwq: flags=0x0\n")
            // flags=0x2 (POOL_MANAGER_ACTIVE) while a worker is being created
            .containsPattern("  pwq \\d+: cpus=0 node=0 flags=0x[0-9a-f]+ nice=0 active=4 refcnt=\\d+\n")
            // the blocker's worker runs the flush barrier next
            .containsPattern("    in-flight: .*\\d+:DumpWatchdogTest\\$\\$Lambda BAR\\("
                + flusher.getId() + "\\)")
            .contains("    inactive: 3*DumpWatchdogTest$Handler\n")
            .containsPattern("pool \\d+: cpus=0 node=0 flags=0x[0-9a-f]+ nice=0 hung=\\d+s workers=\\d+");
      } finally {
        gate.countDown();
      }
      flusher.join();
      wq.flush();
      TestSupport.await("idle dump", () -> sys.dump().equals("Showing busy workqueues and worker pools:\n"));
    }
  }

  @Test
  void watchdog_reportsAPoolWithoutForwardProgress_andRecovers() throws Exception {
    List<WorkqueueSystem.Lockup> lockups = new CopyOnWriteArrayList<>();
    Recording recording = new Recording();
    recording.enable("dev.cmwq.Lockup");
    recording.start();
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1)
        .cpuIntensiveThreshold(Duration.ZERO) // keep the hog counted: the pool cannot progress
        .watchdogThreshold(Duration.ofMillis(200))
        .onLockup(lockups::add).build()) {
      Workqueue wq = sys.workqueue("stuck").build();
      CountDownLatch hogging = new CountDownLatch(1);
      wq.queueWorkOn(0, new Work(() -> {
        hogging.countDown();
        long end = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < end && lockups.isEmpty()) {
          TestSupport.burn(5);
        }
      }));
      QueueWorkTest.awaitQuietly(hogging);
      wq.queueWorkOn(0, new Work(() -> { })); // waits behind the hog
      wq.flush();
      assertThat(lockups).isNotEmpty();
      WorkqueueSystem.Lockup l = lockups.get(0);
      assertThat(l.poolId()).isEqualTo(sys.cpuPool(0, false).id);
      assertThat(l.pool()).isEqualTo("cpus=0 node=0 flags=0x0 nice=0");
      assertThat(l.stuckFor()).isGreaterThanOrEqualTo(Duration.ofMillis(200));
      assertThat(l.report())
          .containsPattern("BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for \\d+s!")
          .contains("workqueue stuck: flags=0x0")
          .contains("Showing backtraces of running workers in stalled CPU-bound worker pools:")
          .containsPattern("  kworker/0:\\d+ \\(RUNNABLE\\)");
      assertThat(sys.tick.lockups.get()).isGreaterThanOrEqualTo(1);
    }
    recording.stop();
    Path file = Files.createTempFile("lockup", ".jfr");
    try {
      recording.dump(file);
      List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
          .filter(e -> e.getEventType().getName().equals("dev.cmwq.Lockup")).toList();
      assertThat(events).isNotEmpty();
      RecordedEvent e = events.get(0);
      assertThat(e.getString("pool")).isEqualTo("cpus=0 node=0 flags=0x0 nice=0");
      assertThat(e.getDuration("stuckFor")).isGreaterThanOrEqualTo(Duration.ofMillis(200));
    } finally {
      recording.close();
      Files.deleteIfExists(file);
    }
  }

  /**
   * A pool whose worklist never empties but whose workers keep starting items is making
   * progress: the watchdog must stay quiet for the whole second of backlog (five thresholds).
   * The worklist fills once at the start, so only the per-batch progress marks keep the stall
   * clock moving: without them this reports a lockup.
   */
  @Test
  void watchdog_staysQuietWhileABackloggedPoolProgresses() {
    List<WorkqueueSystem.Lockup> lockups = new CopyOnWriteArrayList<>();
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1)
        .cpuIntensiveThreshold(Duration.ZERO)
        .watchdogThreshold(Duration.ofMillis(200))
        .onLockup(lockups::add).build()) {
      Workqueue wq = sys.workqueue("busy").build();
      long until = System.nanoTime() + 1_000_000_000L;
      AtomicInteger ran = new AtomicInteger();
      for (int i = 0; i < 400; i++) {
        wq.queueWorkOn(0, new Work(() -> {
          if (System.nanoTime() < until) {
            TestSupport.burn(5);
          }
          ran.incrementAndGet();
        }));
      }
      wq.flush();
      assertThat(ran.get()).isEqualTo(400);
      assertThat(lockups).as("lockups reported for a pool that kept starting items").isEmpty();
    }
  }

  @Test
  void watchdogOff_reportsNothing() {
    List<WorkqueueSystem.Lockup> lockups = new CopyOnWriteArrayList<>();
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(1)
        .cpuIntensiveThreshold(Duration.ZERO).watchdogThreshold(Duration.ZERO)
        .onLockup(lockups::add).build()) {
      Workqueue wq = sys.workqueue("unwatched").build();
      wq.queueWorkOn(0, new Work(() -> TestSupport.burn(400)));
      wq.queueWorkOn(0, new Work(() -> { }));
      wq.flush();
      assertThat(lockups).isEmpty();
    }
  }
}
