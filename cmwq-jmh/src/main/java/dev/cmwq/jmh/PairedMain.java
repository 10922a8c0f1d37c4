package dev.cmwq.jmh;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the {@code paired} method of a benchmark class and turns its per-side times into paired
 * ratios (docs/benchmarks.md §6.2): per measurement iteration, cmwq's time over each peer's time
 * from the same invocations; per fork, the median of those; reported as the median of the fork
 * medians with their min–max. Prints a Markdown table.
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PairedMain [NAME...] [--forks N] [--quick]
 *     [--jvm-arg ARG]... [--out FILE]
 * </pre>
 *
 * <p>Without names it runs every paired benchmark ({@link #ALL}); each row carries the target
 * of docs/benchmarks.md for that pair, if it has one, and whether the median met it.
 */
public final class PairedMain {
  private PairedMain() {}

  /** The paired benchmarks run when no name is given. */
  static final List<String> ALL = List.of("QueueWorkBurst", "OrderedBurst", "IdleRoundTrip",
      "ConcurrencyManagement", "DelayedWorkRearm", "TimerScale1M", "KthreadBurst",
      "FlushCancelCosts");

  /** Benchmarks whose sides are only meaningful in the pairs listed in {@link #TARGETS}. */
  static final java.util.Set<String> TARGET_PAIRS_ONLY = java.util.Set.of("FlushCancelCosts");

  /**
   * Targets of docs/benchmarks.md as {@code benchmark/cmwqSide/peer -> maximum ratio}; a row
   * without one is reported for context.
   */
  static final Map<String, Double> TARGETS = Map.ofEntries(
      Map.entry("QueueWorkBurst/cmwq/tpe", 0.30),
      Map.entry("QueueWorkBurst/cmwqUnbound/tpe", 0.30),
      Map.entry("QueueWorkBurst/cmwq/mpsc", 1.5),
      Map.entry("QueueWorkBurst/cmwqUnbound/mpsc", 1.5),
      Map.entry("OrderedBurst/cmwq/guavaSeq", 1.0),
      Map.entry("OrderedBurst/cmwq/tpe1", 0.15),
      Map.entry("ConcurrencyManagement/cmwqHook/tpe1", 0.55),
      // 25 ms + one sampling period (10 ms) over the single thread's 50 ms.
      Map.entry("ConcurrencyManagement/cmwqSleep/tpe1", 0.70),
      Map.entry("DelayedWorkRearm/cmwq/stpe", 0.25),
      Map.entry("DelayedWorkRearm/cmwq/netty", 1.0),
      Map.entry("TimerScale1M/cmwq/stpe", 0.30),
      Map.entry("TimerScale1M/cmwqSettled/stpeSettled", 0.30),
      Map.entry("IdleRoundTrip/cmwq/tpe1", 0.8),
      Map.entry("IdleRoundTrip/cmwqKthread/tpe1", 1.0),
      Map.entry("KthreadBurst/cmwq/mpsc", 1.5),
      Map.entry("KthreadBurst/cmwq/tpe1", 0.2),
      Map.entry("FlushCancelCosts/cmwqFlush/barrier", 0.1),
      Map.entry("FlushCancelCosts/cmwqDrain/barrier", 0.1),
      Map.entry("FlushCancelCosts/cmwqQueueCancel/tpeQueueCancel", 1.0),
      Map.entry("FlushCancelCosts/cmwqDelayedCancelSync/stpeScheduleCancel", 1.0));

  /** Entry point. */
  public static void main(String[] args) throws Exception {
    List<String> benches = new ArrayList<>();
    int forks = -1;
    boolean quick = false;
    Path out = null;
    List<String> jvmArgs = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--forks" -> forks = Integer.parseInt(args[++i]);
        case "--quick" -> quick = true;
        case "--jvm-arg" -> jvmArgs.add(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        default -> benches.add(args[i]);
      }
    }
    if (benches.isEmpty()) {
      benches.addAll(ALL);
    }
    ChainedOptionsBuilder ob = new OptionsBuilder()
        .include("dev\\.cmwq\\.jmh\\.(" + String.join("|", benches) + ")\\.paired$");
    if (forks > 0) {
      ob.forks(forks);
    }
    if (!jvmArgs.isEmpty()) {
      ob.jvmArgsAppend(jvmArgs.toArray(new String[0]));
    }
    if (quick) {
      ob.forks(1).warmupIterations(1).measurementIterations(3);
    }
    Collection<RunResult> results = new Runner(ob.build()).run();
    StringBuilder md = new StringBuilder("\n### Paired JMH benchmarks (" + String.join(", ", benches) + ")\n\n");
    md.append("| benchmark | cmwq side | peer | peer value | median ratio cmwq/peer | min–max over forks | target | met |\n");
    md.append("|---|---|---|---|---|---|---|---|\n");
    for (RunResult rr : results) {
      String name = rr.getParams().getBenchmark();
      name = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
      for (String cand : sides(rr, true)) {
        for (String peer : sides(rr, false)) {
          appendRow(md, rr, name, cand, peer);
        }
        String bench = name.substring(0, name.indexOf('.'));
        boolean paired = TARGETS.keySet().stream().anyMatch(k -> k.startsWith(bench + "/" + cand + "/"));
        if (TARGET_PAIRS_ONLY.contains(bench) && !paired) {
          double nanos = 0;
          double ops = 0;
          for (BenchmarkResult br : rr.getBenchmarkResults()) {
            for (IterationResult ir : br.getIterationResults()) {
              nanos += score(ir.getSecondaryResults(), cand + "Nanos");
              ops += score(ir.getSecondaryResults(), "ops");
            }
          }
          md.append(String.format(Locale.ROOT, "| %s | %s %s ns/op (absolute) | | | | | | |%n",
              name, cand, num(nanos / Math.max(1, ops))));
        }
      }
      double violations = 0;
      for (BenchmarkResult br : rr.getBenchmarkResults()) {
        for (IterationResult ir : br.getIterationResults()) {
          violations += score(ir.getSecondaryResults(), "orderViolations");
        }
      }
      for (String key : rr.getSecondaryResults().keySet()) {
        String k = key.substring(key.lastIndexOf(':') + 1);
        if (k.contains("Peak")) {
          double peak = 0;
          for (BenchmarkResult br : rr.getBenchmarkResults()) {
            for (IterationResult ir : br.getIterationResults()) {
              peak = Math.max(peak, score(ir.getSecondaryResults(), k));
            }
          }
          md.append(String.format(Locale.ROOT, "| %s | %s (max over forks) | %d | | | | | | |%n",
              name, k, (long) peak));
        }
      }
      if (rr.getSecondaryResults().keySet().stream().anyMatch(k -> k.endsWith("orderViolations"))) {
        md.append(String.format(Locale.ROOT, "| %s | order violations (all sides) | %d | | | | | 0 | %s |%n",
            name, (long) violations, violations == 0 ? "yes" : "no"));
      }
    }
    md.append('\n').append(machine()).append('\n');
    System.out.println();
    System.out.println(md);
    if (out != null) {
      append(out, md);
      System.out.println("written to " + out);
    }
  }

  /** One table row: candidate {@code cand} against {@code peer}. */
  private static void appendRow(StringBuilder md, RunResult rr, String name, String cand, String peer) {
    List<Double> forkMedians = new ArrayList<>();
    double candTotal = 0;
    double peerTotal = 0;
    double ops = 0;
    double wakeups = 0;
    for (BenchmarkResult br : rr.getBenchmarkResults()) {
      List<Double> ratios = new ArrayList<>();
      for (IterationResult ir : br.getIterationResults()) {
        Map<String, Result> sec = ir.getSecondaryResults();
        double c = score(sec, cand + "Nanos");
        double p = score(sec, peer + "Nanos");
        if (c > 0 && p > 0) {
          ratios.add(c / p);
        }
        candTotal += c;
        peerTotal += p;
        ops += score(sec, "ops");
        wakeups += score(sec, "cmwqWakeups");
      }
      if (!ratios.isEmpty()) {
        forkMedians.add(median(ratios));
      }
    }
    if (forkMedians.isEmpty()) {
      return;
    }
    String unit = ops > 0 ? " ns/op" : " ms/round";
    double div = ops > 0 ? ops : Math.max(1, count(rr)) * 1e6;
    double ratio = median(forkMedians);
    String bench = name.substring(0, name.indexOf('.'));
    Double target = TARGETS.get(bench + "/" + cand + "/" + peer);
    if (target == null && TARGET_PAIRS_ONLY.contains(bench)) {
      return;
    }
    md.append(String.format(Locale.ROOT, "| %s | %s %s%s | %s | %s%s | %.3f | %.3f–%.3f | %s | %s |%n",
        name, cand, num(candTotal / div), unit, peer, num(peerTotal / div), unit,
        ratio, min(forkMedians), max(forkMedians), target == null ? "" : "≤ " + target,
        target == null ? "" : ratio <= target ? "yes" : "no"));
    if (ops > 0 && peer.equals("stpe")) {
      md.append(String.format(Locale.ROOT, "| %s | %.5f timer wake-ups/op | | | | | ≤ 0.001 | %s |%n",
          name, wakeups / ops, wakeups / ops <= 0.001 ? "yes" : "no"));
    }
  }

  /**
   * The sides recorded as secondary results named {@code <side>Nanos}: the cmwq ones
   * ({@code cmwq*}) when {@code cmwq}, else the peers.
   */
  private static List<String> sides(RunResult rr, boolean cmwq) {
    List<String> sides = new ArrayList<>();
    for (String key : rr.getSecondaryResults().keySet()) {
      String k = key.substring(key.lastIndexOf(':') + 1);
      if (k.endsWith("Nanos") && k.startsWith("cmwq") == cmwq) {
        sides.add(k.substring(0, k.length() - "Nanos".length()));
      }
    }
    sides.sort(null);
    return sides;
  }

  /** One decimal, or three below 10 (sub-nanosecond sides). */
  private static String num(double v) {
    return String.format(Locale.ROOT, v < 10 ? "%.3f" : "%.1f", v);
  }

  private static int count(RunResult rr) {
    int n = 0;
    for (BenchmarkResult br : rr.getBenchmarkResults()) {
      n += br.getIterationResults().size();
    }
    return n;
  }

  private static double score(Map<String, Result> sec, String key) {
    for (Map.Entry<String, Result> e : sec.entrySet()) {
      if (e.getKey().equals(key) || e.getKey().endsWith(":" + key)) {
        return e.getValue().getScore();
      }
    }
    return 0;
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(Double::compare);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  static double min(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
  }

  static double max(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
  }

  /** "JDK …, CPU model, N CPUs": printed under every result table. */
  static String machine() {
    return "JDK " + System.getProperty("java.version") + ", " + cpuModel() + ", "
        + Runtime.getRuntime().availableProcessors() + " CPUs";
  }

  /** Appends a result table to {@code out} (created if missing). */
  static void append(Path out, CharSequence md) throws java.io.IOException {
    Files.writeString(out, md, java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
  }

  static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).strip();
        }
      }
    } catch (Exception e) {
      // not Linux
    }
    return System.getProperty("os.arch");
  }
}
