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
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PairedMain DelayedWorkRearm [--forks N] [--quick]
 *     [--jvm-arg ARG]...
 * </pre>
 */
public final class PairedMain {
  private PairedMain() {}

  /** Entry point. */
  public static void main(String[] args) throws Exception {
    String bench = "DelayedWorkRearm";
    int forks = -1;
    boolean quick = false;
    List<String> jvmArgs = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--forks" -> forks = Integer.parseInt(args[++i]);
        case "--quick" -> quick = true;
        case "--jvm-arg" -> jvmArgs.add(args[++i]);
        default -> bench = args[i];
      }
    }
    ChainedOptionsBuilder ob = new OptionsBuilder().include("dev\\.cmwq\\.jmh\\." + bench + "\\.paired$");
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
    StringBuilder md = new StringBuilder();
    md.append("| benchmark | cmwq | peer | peer value | median ratio cmwq/peer | min–max over forks |\n");
    md.append("|---|---|---|---|---|---|\n");
    for (RunResult rr : results) {
      String name = rr.getParams().getBenchmark();
      name = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
      for (String peer : peers(rr)) {
        List<Double> forkMedians = new ArrayList<>();
        double cmwqTotal = 0;
        double peerTotal = 0;
        double ops = 0;
        double wakeups = 0;
        for (BenchmarkResult br : rr.getBenchmarkResults()) {
          List<Double> ratios = new ArrayList<>();
          for (IterationResult ir : br.getIterationResults()) {
            Map<String, Result> sec = ir.getSecondaryResults();
            double c = score(sec, "cmwqNanos");
            double p = score(sec, peer + "Nanos");
            if (c > 0 && p > 0) {
              ratios.add(c / p);
            }
            cmwqTotal += c;
            peerTotal += p;
            ops += score(sec, "ops");
            wakeups += score(sec, "cmwqWakeups");
          }
          if (!ratios.isEmpty()) {
            forkMedians.add(median(ratios));
          }
        }
        if (forkMedians.isEmpty()) {
          continue;
        }
        String unit = ops > 0 ? " ns/op" : " ms/round";
        double div = ops > 0 ? ops : Math.max(1, count(rr)) * 1e6;
        md.append(String.format(Locale.ROOT, "| %s | %s%s | %s | %s%s | %.3f | %.3f–%.3f |%n",
            name, num(cmwqTotal / div), unit, peer, num(peerTotal / div), unit, median(forkMedians),
            min(forkMedians), max(forkMedians)));
        if (ops > 0 && peer.equals("stpe")) {
          md.append(String.format(Locale.ROOT, "| %s | %.5f timer wake-ups/op | | | | |%n",
              name, wakeups / ops));
        }
      }
    }
    md.append("\nJDK ").append(System.getProperty("java.version")).append(", ")
        .append(cpuModel()).append(", ").append(Runtime.getRuntime().availableProcessors())
        .append(" CPUs\n");
    System.out.println();
    System.out.println(md);
  }

  /** The sides other than cmwq: every secondary result named {@code <side>Nanos}. */
  private static List<String> peers(RunResult rr) {
    List<String> peers = new ArrayList<>();
    for (String key : rr.getSecondaryResults().keySet()) {
      String k = key.substring(key.lastIndexOf(':') + 1);
      if (k.endsWith("Nanos") && !k.equals("cmwqNanos")) {
        peers.add(k.substring(0, k.length() - "Nanos".length()));
      }
    }
    peers.sort(null);
    return peers;
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
      if (e.getKey().endsWith(key)) {
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

  private static double min(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
  }

  private static double max(List<Double> xs) {
    return xs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
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
