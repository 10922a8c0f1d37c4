package dev.cmwq.tools;

import dev.cmwq.AffinityScope;
import dev.cmwq.DelayedWork;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueAttrs;
import dev.cmwq.WorkqueueSystem;
import java.io.PrintWriter;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code cmwq demo}: a service-shaped workload on one workqueue system, watched live with the
 * {@code wq_monitor} table, then checked.
 *
 * <p>The service: a client sends requests over 48 connections; each connection is an ordered
 * workqueue, so its requests are handled one at a time, in order. Handlers sometimes read the
 * disk (a per-CPU workqueue whose items block in {@code Thread.sleep}, which concurrency
 * management notices) and sometimes change the configuration, which a debounced delayed item
 * saves 100 ms after the last change ({@code modDelayedWork}). Beside them: a few CPU hogs on
 * a per-CPU workqueue (marked CPU-intensive), a stream of batch jobs on an unbound SYSFS
 * workqueue whose attributes change halfway through under load ({@code applyAttrs}), and a
 * MEM_RECLAIM writeback workqueue.
 *
 * <p>At the end every workqueue is flushed and the run is checked: each accepted item ran
 * exactly once, every connection's requests ran in order, the last configuration change was
 * saved. The exit status is 1 if any check fails.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Runs a service-shaped workload on cmwq with a live wq_monitor table, then"
        + " prints a summary (items, threads, latency percentiles) and checks that nothing was"
        + " lost, run twice or reordered.",
        "While it runs, `cmwq monitor <pid>` and `cmwq dump <pid>` work on it from another"
        + " terminal."})
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--seconds", paramLabel = "N", defaultValue = "10",
      description = "How long the workload runs (default ${DEFAULT-VALUE}, 1..3600)")
  int seconds;

  @Option(names = "--connections", paramLabel = "N", defaultValue = "48",
      description = "Connections, one ordered workqueue each (default ${DEFAULT-VALUE}, 1..1000)")
  int connections;

  @Option(names = "--plain", description = "Print a new table every second (default when the"
      + " output is not a terminal)")
  boolean plain;

  @Option(names = "--live", description = "Refresh the table in place (default on a terminal)")
  boolean live;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (seconds < 1 || seconds > 3600) {
      throw new ParameterException(spec.commandLine(), "--seconds: " + seconds
          + " (expected: 1..3600)");
    }
    if (connections < 1 || connections > 1000) {
      throw new ParameterException(spec.commandLine(), "--connections: " + connections
          + " (expected: 1..1000)");
    }
    if (plain && live) {
      throw new ParameterException(spec.commandLine(), "--plain and --live exclude each other");
    }
    boolean inPlace = live || (!plain && System.console() != null);
    return new Run(spec.commandLine().getOut(), inPlace).execute() ? 0 : 1;
  }

  // ---- the items ----------------------------------------------------------------------------

  /** An item that counts its runs: the exactly-once check. */
  abstract static class Tracked extends Work {
    private static final VarHandle RUNS;

    static {
      try {
        RUNS = MethodHandles.lookup().findVarHandle(Tracked.class, "runs", int.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    final Run run;
    /** How many times this item ran (must end at exactly 1). */
    private volatile int runs;

    Tracked(Run run) {
      super(w -> ((Tracked) w).fire());
      this.run = run;
    }

    private void fire() throws Exception {
      if ((int) RUNS.getAndAdd(this, 1) == 0) {
        run.ranOnce.increment();
      } else {
        run.ranTwice.increment();
      }
      body();
    }

    abstract void body() throws Exception;
  }

  /** One request on one connection. */
  static final class Request extends Tracked {
    final Connection conn;
    final long seq;
    final long queuedAt = System.nanoTime();

    Request(Run run, Connection conn, long seq) {
      super(run);
      this.conn = conn;
      this.seq = seq;
    }

    @Override
    void body() {
      run.latency.recordValue(Math.max(0, System.nanoTime() - queuedAt));
      // Ordered workqueue: the previous request of this connection finished before this one
      // started, and the pool lock orders the two, so a plain field is enough.
      if (conn.expected++ != seq) {
        run.outOfOrder.increment();
      }
      run.requests.increment();
      burn(20_000); // parse and handle: 20 µs of CPU
      ThreadLocalRandom rnd = ThreadLocalRandom.current();
      if (rnd.nextInt(16) == 0) {
        run.accept(run.io, new DiskRead(run));
      }
      if (run.configWindow() && rnd.nextInt(8) == 0) {
        run.configChanged();
      }
    }
  }

  /** A connection: its ordered workqueue and sequence numbers. */
  static final class Connection {
    final Workqueue wq;
    /** Next sequence number to send (client thread only). */
    long next;
    /** Next sequence number expected to run (its ordered workqueue's items only). */
    long expected;

    Connection(Workqueue wq) {
      this.wq = wq;
    }
  }

  /** A blocking read: plain {@code Thread.sleep}, noticed by the sampling tick. */
  static final class DiskRead extends Tracked {
    DiskRead(Run run) {
      super(run);
    }

    @Override
    void body() throws InterruptedException {
      Thread.sleep(2);
      run.diskReads.increment();
    }
  }

  /** A CPU hog: 40 ms without blocking on a per-CPU workqueue. */
  static final class Hog extends Tracked {
    Hog(Run run) {
      super(run);
    }

    @Override
    void body() {
      burn(40_000_000);
      run.hogs.increment();
    }
  }

  /** A batch job: half a millisecond of CPU on the unbound workqueue. */
  static final class Batch extends Tracked {
    Batch(Run run) {
      super(run);
    }

    @Override
    void body() {
      burn(500_000);
      run.batches.increment();
    }
  }

  /** Writeback on the MEM_RECLAIM workqueue. */
  static final class Writeback extends Tracked {
    Writeback(Run run) {
      super(run);
    }

    @Override
    void body() throws InterruptedException {
      Thread.sleep(1);
      run.writebacks.increment();
    }
  }

  static void burn(long nanos) {
    long end = System.nanoTime() + nanos;
    long x = 1;
    while (System.nanoTime() < end) {
      x = x * 6364136223846793005L + 1442695040888963407L;
    }
    if (x == 0) {
      System.out.print("");
    }
  }

  // ---- one run ------------------------------------------------------------------------------

  /** The workload, its counters and its view. */
  final class Run {
    final PrintWriter out;
    final boolean inPlace;
    final WorkqueueSystem sys;
    final List<Connection> conns = new ArrayList<>();
    final Workqueue io;
    final Workqueue crunch;
    final Workqueue batch;
    final Workqueue writeback;
    final Workqueue config;
    final DelayedWork save;

    final LongAdder accepted = new LongAdder();
    final LongAdder ranOnce = new LongAdder();
    final LongAdder ranTwice = new LongAdder();
    final LongAdder outOfOrder = new LongAdder();
    final LongAdder requests = new LongAdder();
    final LongAdder diskReads = new LongAdder();
    final LongAdder hogs = new LongAdder();
    final LongAdder batches = new LongAdder();
    final LongAdder writebacks = new LongAdder();
    final AtomicLong configVersion = new AtomicLong();
    final long started = System.nanoTime();
    final LongAdder batchesAccepted = new LongAdder();
    final LongAdder saves = new LongAdder();
    volatile long savedVersion;
    final Recorder latency = new Recorder(3);
    final Histogram latencyTotal = new Histogram(3);
    volatile String attrsNote = "pending";
    int peakThreads;
    int linesShown;

    Run(PrintWriter out, boolean inPlace) {
      this.out = out;
      this.inPlace = inPlace;
      this.sys = WorkqueueSystem.builder().name("demo").build();
      for (int c = 0; c < connections; c++) {
        conns.add(new Connection(sys.workqueue(String.format(Locale.ROOT, "demo_conn%02d", c))
            .ordered().build()));
      }
      io = sys.workqueue("demo_io").build();
      crunch = sys.workqueue("demo_crunch").build();
      batch = sys.workqueue("demo_batch").unbound().sysfs().maxActive(4).build();
      writeback = sys.workqueue("demo_writeback").unbound().memReclaim().build();
      config = sys.workqueue("demo_config").unbound().build();
      save = new DelayedWork(() -> {
        savedVersion = configVersion.get();
        saves.increment();
      });
    }

    void accept(Workqueue wq, Work w) {
      if (wq.queueWork(w)) {
        accepted.increment();
      }
    }

    /** Configuration changes come in bursts: the first 300 ms of every second. */
    boolean configWindow() {
      return (System.nanoTime() - started) % 1_000_000_000L < 300_000_000L;
    }

    /** A handler changed the configuration: save it 100 ms after the last change. */
    void configChanged() {
      configVersion.incrementAndGet();
      config.modDelayedWork(save, Duration.ofMillis(100));
    }

    boolean execute() throws InterruptedException {
      try (sys) {
        long start = started;
        long end = start + seconds * 1_000_000_000L;
        Thread client = new Thread(() -> client(end), "demo-client");
        Thread scheduler = new Thread(() -> scheduler(start, end), "demo-scheduler");
        client.start();
        scheduler.start();
        for (int s = 1; s <= seconds; s++) {
          long wake = start + s * 1_000_000_000L;
          for (long left; (left = wake - System.nanoTime()) > 0; ) {
            Thread.sleep(Math.max(1, left / 1_000_000));
          }
          show(s);
        }
        client.join();
        scheduler.join();
        drain();
        show(seconds);
        return summary();
      }
    }

    /** Sends requests round the connections in bursts, about 7 000 a second. */
    private void client(long end) {
      ThreadLocalRandom rnd = ThreadLocalRandom.current();
      while (System.nanoTime() < end) {
        for (int i = 0; i < 8; i++) {
          Connection c = conns.get(rnd.nextInt(conns.size()));
          accept(c.wq, new Request(this, c, c.next++));
        }
        sleepMillis(1);
      }
    }

    /** Batch jobs, hogs, writeback, and the attribute change at half time. */
    private void scheduler(long start, long end) {
      long nextHog = start + 700_000_000L;
      long nextWriteback = start;
      long attrsAt = start + (end - start) / 2;
      int cpu = 0;
      while (System.nanoTime() < end) {
        long now = System.nanoTime();
        for (int i = 0; i < 3; i++) { // a burst of three: the workqueue runs 4 at a time
          if (batch.queueWork(new Batch(this))) {
            accepted.increment();
            batchesAccepted.increment();
          }
        }
        if (now >= nextHog) {
          if (crunch.queueWorkOn(cpu, new Hog(this))) {
            accepted.increment();
          }
          cpu = (cpu + 1) % sys.cpus();
          nextHog += 1_500_000_000L;
        }
        if (now >= nextWriteback) {
          accept(writeback, new Writeback(this));
          nextWriteback += 200_000_000L;
        }
        if (attrsAt != 0 && now >= attrsAt) {
          attrsAt = 0;
          long inFlight = batchesAccepted.sum() - batches.sum();
          batch.applyAttrs(WorkqueueAttrs.defaults().withNice(5)
              .withAffinityScope(AffinityScope.SYSTEM));
          attrsNote = String.format(Locale.ROOT, "demo_batch → nice 5, scope system at %.1f s"
              + " with %d job(s) queued or running", (now - start) / 1e9, inFlight);
        }
        sleepMillis(2);
      }
    }

    /** Waits for everything queued: handlers may queue more, so flush until quiet. */
    private void drain() {
      for (int round = 0; round < 3; round++) {
        for (Connection c : conns) {
          c.wq.flush();
        }
        io.flush();
        crunch.flush();
        batch.flush();
        writeback.flush();
      }
      save.flush(); // a pending save runs now
    }

    // ---- the view ---------------------------------------------------------------------------

    private void show(int second) {
      Histogram interval = latency.getIntervalHistogram();
      latencyTotal.add(interval);
      int threads = cmwqThreads();
      peakThreads = Math.max(peakThreads, threads);
      long req = requests.sum();
      List<String> lines = new ArrayList<>();
      lines.add(String.format(Locale.ROOT, "cmwq demo · %d CPUs · %d connections · %d/%d s",
          sys.cpus(), conns.size(), second, seconds));
      lines.add(String.format(Locale.ROOT, "requests %d (%.0f/s)   queue→start p50 %s  p99 %s"
          + "   cmwq threads %d (peak %d)", req, req / (double) second,
          micros(latencyTotal.getValueAtPercentile(50)),
          micros(latencyTotal.getValueAtPercentile(99)), threads, peakThreads));
      lines.add(String.format(Locale.ROOT, "config changes %d → saves %d   applyAttrs: %s",
          configVersion.get(), saves.sum(), attrsNote));
      lines.add(WqTable.header());
      WqTable.Row connRow = null;
      for (Connection c : conns) {
        WqTable.Row r = WqTable.Row.of("demo_conn* (" + conns.size() + " ordered)", c.wq,
            c.wq.stats());
        connRow = connRow == null ? r : connRow.plus(r);
      }
      lines.add(WqTable.row(connRow));
      for (Workqueue wq : List.of(io, crunch, batch, writeback, config)) {
        lines.add(WqTable.row(WqTable.Row.of(wq)));
      }
      if (inPlace) {
        if (linesShown > 0) {
          out.print("\033[" + linesShown + "F"); // back to the first line of the last table
        }
        for (String l : lines) {
          out.print("\033[2K");
          out.println(l);
        }
        linesShown = lines.size();
      } else {
        out.println();
        for (String l : lines) {
          out.println(l);
        }
      }
      out.flush();
    }

    private boolean summary() {
      long acc = accepted.sum();
      long once = ranOnce.sum();
      long twice = ranTwice.sum();
      long lost = acc - once;
      long disorder = outOfOrder.sum();
      boolean saved = savedVersion == configVersion.get();
      long cmw = 0;
      long itsv = 0;
      for (Workqueue wq : sys.workqueues()) {
        cmw += wq.stats().cmWakeups();
        itsv += wq.stats().cpuIntensive();
      }
      int workqueues = conns.size() + 5;
      out.println();
      out.println("summary");
      out.printf(Locale.ROOT, "  items run         %d (requests %d, disk reads %d, batch jobs %d,"
          + " CPU hogs %d, writebacks %d)%n", once, requests.sum(), diskReads.sum(),
          batches.sum(), hogs.sum(), writebacks.sum());
      out.printf(Locale.ROOT, "  exactly once      accepted %d, ran once %d, ran twice %d,"
          + " lost %d%n", acc, once, twice, lost);
      out.printf(Locale.ROOT, "  order             %d connections, %d requests out of order%n",
          conns.size(), disorder);
      out.printf(Locale.ROOT, "  debounce          %d config changes → %d saves, last change"
          + " saved: %s%n", configVersion.get(), saves.sum(), saved ? "yes" : "NO");
      out.printf(Locale.ROOT, "  threads           peak %d cmwq threads for %d workqueues (an"
          + " executor per queue needs at least %d)%n", peakThreads, workqueues, workqueues);
      out.printf(Locale.ROOT, "  latency           queue→start of requests: p50 %s, p90 %s,"
          + " p99 %s, p99.9 %s, max %s (%d samples)%n",
          micros(latencyTotal.getValueAtPercentile(50)),
          micros(latencyTotal.getValueAtPercentile(90)),
          micros(latencyTotal.getValueAtPercentile(99)),
          micros(latencyTotal.getValueAtPercentile(99.9)), micros(latencyTotal.getMaxValue()),
          latencyTotal.getTotalCount());
      out.printf(Locale.ROOT, "  concurrency mgmt  %d CM wake-ups, %d CPU-intensive marks;"
          + " applyAttrs: %s%n", cmw, itsv, attrsNote);
      boolean ok = lost == 0 && twice == 0 && disorder == 0 && saved;
      out.println(ok ? "check: OK — nothing lost, nothing run twice, order kept, last change saved"
          : "check: FAILED — see the lines above");
      out.flush();
      return ok;
    }
  }

  private static final Set<String> CMWQ_THREADS = Set.of("wq_worker_tick", "wq_timer",
      "pool_workqueue_release", "kthread_timer");

  /** Threads of the workqueue systems in this JVM, by their kernel-style names. */
  static int cmwqThreads() {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    int n = 0;
    for (ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds(), 0)) {
      if (t != null && (t.getThreadName().startsWith("kworker/")
          || CMWQ_THREADS.contains(t.getThreadName()))) {
        n++;
      }
    }
    return n;
  }

  static String micros(long nanos) {
    return nanos < 1_000_000 ? String.format(Locale.ROOT, "%d µs", nanos / 1000)
        : String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
  }

  static void sleepMillis(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
