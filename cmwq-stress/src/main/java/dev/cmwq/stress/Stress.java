package dev.cmwq.stress;

import dev.cmwq.StressAccess;
import dev.cmwq.WorkqueueSystem;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The soak runner: runs the chosen {@link Scenarios} one after another, sharing the total
 * duration, prints a status line at an interval, and at the end of each scenario checks its
 * exactly-once accounting, the engine's quiescent invariants, the pwq release path, and that
 * closing the system left no thread behind. Exit status 1 if anything failed.
 *
 * <pre>
 * java -jar cmwq-stress/target/cmwq-stress.jar [SCENARIO…] [--duration 2m] [--status 10s]
 * </pre>
 */
@Command(name = "cmwq-stress", mixinStandardHelpOptions = true,
    description = "Storms the workqueue engine and checks that nothing was lost or run twice.")
public final class Stress implements Callable<Integer> {
  /** Every scenario, in the order they run. */
  static final Map<String, Supplier<Scenarios.Scenario>> ALL = new LinkedHashMap<>();

  static {
    ALL.put("queue-cancel", Scenarios.QueueCancelFlush::new);
    ALL.put("attrs", Scenarios.AttrsAndCpumask::new);
    ALL.put("destroy", Scenarios.CreateDestroy::new);
    ALL.put("delayed", Scenarios.DelayedChurn::new);
    ALL.put("failing-factory", Scenarios.FailingFactory::new);
    ALL.put("kthread", Scenarios.KthreadStorm::new);
  }

  @Parameters(paramLabel = "SCENARIO", arity = "0..*",
      description = "queue-cancel, attrs, destroy, delayed, failing-factory, kthread (default: all)")
  List<String> scenarios = new ArrayList<>();

  @Option(names = "--duration", paramLabel = "TIME", defaultValue = "2m",
      description = "Total time, shared by the scenarios (e.g. 30s, 2m, 1h; default ${DEFAULT-VALUE})")
  String duration;

  @Option(names = "--status", paramLabel = "TIME", defaultValue = "10s",
      description = "Interval of the status line (default ${DEFAULT-VALUE})")
  String status;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "4",
      description = "Threads driving each scenario (default ${DEFAULT-VALUE})")
  int threads;

  @Spec
  CommandSpec spec;

  /** Entry point. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new Stress()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Duration total = parse("--duration", duration);
    Duration every = parse("--status", status);
    if (threads < 1 || threads > 64) {
      throw new ParameterException(spec.commandLine(), "--threads: " + threads
          + " (expected: 1..64)");
    }
    List<String> names = scenarios.isEmpty() ? new ArrayList<>(ALL.keySet()) : scenarios;
    for (String n : names) {
      if (!ALL.containsKey(n)) {
        throw new ParameterException(spec.commandLine(), "SCENARIO: '" + n + "' (expected one"
            + " of " + String.join(", ", ALL.keySet()) + ")");
      }
    }
    Duration each = total.dividedBy(names.size());
    out.printf(Locale.ROOT, "cmwq-stress: %s, %s each, %d threads, JDK %s, %d CPUs%n",
        String.join(" ", names), each, threads, System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors());
    out.flush();
    boolean ok = true;
    for (String n : names) {
      ok &= runOne(ALL.get(n).get(), each, every, out);
    }
    out.println(ok ? "cmwq-stress: PASS" : "cmwq-stress: FAIL");
    out.flush();
    return ok ? 0 : 1;
  }

  private boolean runOne(Scenarios.Scenario s, Duration time, Duration every, PrintWriter out)
      throws Exception {
    int threadsBefore = cmwqThreads();
    long start = System.nanoTime();
    long end = start + time.toNanos();
    Scenarios.Run run = new Scenarios.Run(end, threads);
    Thread driver = new Thread(() -> {
      try {
        s.run(run);
      } catch (Throwable t) {
        run.problem("scenario threw " + t);
        t.printStackTrace();
      } finally {
        run.finished = true;
      }
    }, "stress-" + s.name());
    driver.start();
    long nextStatus = start + every.toNanos();
    while (!run.finished) {
      Thread.sleep(50);
      if (System.nanoTime() >= nextStatus && !run.finished) {
        nextStatus += every.toNanos();
        WorkqueueSystem sys = run.system;
        out.printf(Locale.ROOT, "[%5.0fs] %-15s %s%s%n", (System.nanoTime() - start) / 1e9,
            s.name(), run.counters(), sys == null ? "" : "  " + StressAccess.pools(sys));
        out.flush();
      }
    }
    driver.join();
    // Closing the system must have joined every thread it started.
    long deadline = System.nanoTime() + 10_000_000_000L;
    int threadsAfter;
    while ((threadsAfter = cmwqThreads()) > threadsBefore && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    if (threadsAfter > threadsBefore) {
      run.problem("threads left after close: " + (threadsAfter - threadsBefore));
    }
    double secs = (System.nanoTime() - start) / 1e9;
    boolean ok = run.problems.isEmpty();
    out.printf(Locale.ROOT, "%s %-15s %.0fs  %s  %s%n", ok ? "PASS" : "FAIL", s.name(), secs,
        run.counters(), run.summary);
    for (String p : run.problems) {
      out.println("  problem: " + p);
    }
    out.flush();
    return ok;
  }

  private Duration parse(String option, String text) {
    String t = text.strip().toLowerCase(Locale.ROOT);
    try {
      long n;
      if (t.endsWith("ms")) {
        return positive(option, text, Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2))));
      }
      n = Long.parseLong(t.substring(0, t.length() - 1));
      switch (t.charAt(t.length() - 1)) {
        case 's':
          return positive(option, text, Duration.ofSeconds(n));
        case 'm':
          return positive(option, text, Duration.ofMinutes(n));
        case 'h':
          return positive(option, text, Duration.ofHours(n));
        default:
          break;
      }
    } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
      // below
    }
    throw new ParameterException(spec.commandLine(), option + ": '" + text
        + "' (expected: a positive time such as 500ms, 30s, 2m, 1h)");
  }

  private Duration positive(String option, String text, Duration d) {
    if (d.isZero() || d.isNegative()) {
      throw new ParameterException(spec.commandLine(), option + ": '" + text
          + "' (expected: a positive time)");
    }
    return d;
  }

  /** Threads of workqueue systems in this JVM, by their kernel-style names. */
  static int cmwqThreads() {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    int n = 0;
    for (ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds(), 0)) {
      if (t == null) {
        continue;
      }
      String name = t.getThreadName();
      if (name.startsWith("kworker/") || name.equals("wq_worker_tick") || name.equals("wq_timer")
          || name.equals("pool_workqueue_release") || name.startsWith("stress_kthread")) {
        n++;
      }
    }
    return n;
  }
}
