package dev.cmwq;

import static dev.cmwq.TestSupport.LONG;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

/**
 * SPEC §5 and issue 6: the JFR events named after the kernel's tracepoints. A recording is taken
 * around a known workload and read back with {@link RecordingFile}; counts and fields must match
 * what the workload did.
 */
class JfrEventsTest {
  /** A named function class, so events can be matched by class. */
  static final class Job implements Runnable {
    final CountDownLatch gate;

    Job(CountDownLatch gate) {
      this.gate = gate;
    }

    @Override
    public void run() {
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static final class Failing implements Runnable {
    @Override
    public void run() {
      throw new IllegalStateException("traced failure");
    }
  }

  static final class Hog implements Runnable {
    @Override
    public void run() {
      TestSupport.burn(150);
    }
  }

  static final class Answer implements Callable<Integer> {
    @Override
    public Integer call() {
      return 42;
    }
  }

  @Test
  void recordingHoldsOneEventPerTracepointHit_withTheirFields() throws Exception {
    Path file = Files.createTempFile("cmwq-events", ".jfr");
    try (WorkqueueSystem sys = WorkqueueSystem.builder().cpus(2)
        .cpuIntensiveThreshold(Duration.ofMillis(10)).build();
        Recording recording = new Recording()) {
      for (String name : List.of("QueueWork", "ActivateWork", "ExecuteWork", "CpuIntensive")) {
        recording.enable("dev.cmwq." + name).withThreshold(Duration.ZERO);
      }
      recording.start();

      // 20 items on CPU 1 of a max_active 1 workqueue: the first is active at once, the rest
      // wait behind a gate and are activated one by one.
      Workqueue limited = sys.workqueue("jfr_limited").maxActive(1).build();
      CountDownLatch gate = new CountDownLatch(1);
      for (int i = 0; i < 20; i++) {
        assertThat(limited.queueWorkOn(1, new Work(new Job(gate)))).isTrue();
      }
      gate.countDown();
      limited.flush();

      Workqueue unbound = sys.workqueue("jfr_unbound").unbound()
          .uncaughtExceptionHandler((q, w, e) -> { }).build();
      unbound.queueWork(new Work(new Failing()));
      unbound.flush();

      Workqueue hogs = sys.workqueue("jfr_hog").build();
      hogs.queueWorkOn(0, new Work(new Hog()));
      // Work waiting behind the hog: the tick samples pools with waiting work only.
      hogs.queueWorkOn(0, new Work(new Job(gate)));
      hogs.flush();

      ExecutorService view = unbound.asExecutorService();
      assertThat(view.submit(new Answer()).get(LONG.toMillis(), TimeUnit.MILLISECONDS))
          .isEqualTo(42);
      // get() returns inside the function; its ExecuteWork event is committed after it, so
      // wait for the item to retire before the recording stops.
      unbound.flush();
      view.shutdown();

      recording.stop();
      recording.dump(file);
    }
    List<RecordedEvent> events = RecordingFile.readAllEvents(file);
    Files.delete(file);

    List<RecordedEvent> queued = select(events, "dev.cmwq.QueueWork", "jfr_limited");
    assertThat(queued).hasSize(20).allSatisfy(e -> {
      assertThat(e.getInt("requestedCpu")).isEqualTo(1);
      assertThat(e.getInt("cpu")).isEqualTo(1);
      assertThat(e.getClass("function").getName()).isEqualTo(Job.class.getName());
    });
    assertThat(queued.get(0).getBoolean("active")).isTrue();
    assertThat(queued.stream().filter(e -> !e.getBoolean("active")).count())
        .as("waited for max_active").isGreaterThanOrEqualTo(18);
    assertThat(select(events, "dev.cmwq.ActivateWork", "jfr_limited"))
        .as("each item activated exactly once").hasSize(20);
    List<RecordedEvent> executed = select(events, "dev.cmwq.ExecuteWork", "jfr_limited");
    assertThat(executed).hasSize(20).allSatisfy(e -> {
      assertThat(e.getBoolean("failed")).isFalse();
      assertThat(e.getInt("cpu")).isEqualTo(1);
      assertThat(e.getThread().getJavaName()).startsWith("kworker/1:");
    });

    RecordedEvent failed = only(events, "dev.cmwq.ExecuteWork", "jfr_unbound",
        e -> e.getClass("function").getName().equals(Failing.class.getName()));
    assertThat(failed.getBoolean("failed")).isTrue();
    assertThat(failed.getInt("cpu")).isEqualTo(-1);
    RecordedEvent unboundQueued = only(events, "dev.cmwq.QueueWork", "jfr_unbound",
        e -> e.getClass("function").getName().equals(Failing.class.getName()));
    assertThat(unboundQueued.getInt("requestedCpu")).isEqualTo(-1);

    RecordedEvent hog = only(events, "dev.cmwq.ExecuteWork", "jfr_hog",
        e -> e.getClass("function").getName().equals(Hog.class.getName()));
    assertThat(hog.getDuration()).isGreaterThanOrEqualTo(Duration.ofMillis(150));
    RecordedEvent intensive = only(events, "dev.cmwq.CpuIntensive", "jfr_hog", e -> true);
    assertThat(intensive.getClass("function").getName()).isEqualTo(Hog.class.getName());
    assertThat(intensive.getDuration("threshold")).isEqualTo(Duration.ofMillis(10));

    only(events, "dev.cmwq.ExecuteWork", "jfr_unbound",
        e -> e.getClass("function").getName().equals(Answer.class.getName()));
  }

  @Test
  void withoutARecording_theEventsAreOff_andPerItemOnesStayOffByDefault() throws Exception {
    assertThat(new Events.QueueWork().isEnabled()).isFalse();
    assertThat(Events.executeStart()).isNull();
    // A recording that does not name them (as -XX:StartFlightRecording with default.jfc):
    // the per-item events stay off, the rare ones are on.
    try (Recording recording = new Recording()) {
      recording.start();
      assertThat(new Events.QueueWork().isEnabled()).isFalse();
      assertThat(new Events.ActivateWork().isEnabled()).isFalse();
      assertThat(new Events.ExecuteWork().isEnabled()).isFalse();
      assertThat(Events.executeStart()).isNull();
      assertThat(new Events.CpuIntensive().isEnabled()).isTrue();
      assertThat(new Events.Lockup().isEnabled()).isTrue();
      recording.stop();
    }
  }

  private static List<RecordedEvent> select(List<RecordedEvent> events, String type, String wq) {
    return events.stream().filter(e -> e.getEventType().getName().equals(type))
        .filter(e -> wq.equals(e.getString("workqueue"))).toList();
  }

  private static RecordedEvent only(List<RecordedEvent> events, String type, String wq,
      Predicate<RecordedEvent> which) {
    List<RecordedEvent> found = select(events, type, wq).stream().filter(which).toList();
    assertThat(found).as(type + " on " + wq).hasSize(1);
    return found.get(0);
  }
}
