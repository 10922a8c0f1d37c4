package dev.cmwq.jmh;

import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Benchmark 9 of docs/benchmarks.md, {@code EnqueueContention} (after the kernel's
 * lib/test_workqueue.c): two producer threads (one per CPU), each queueing its own item and
 * waiting for it to finish, {@code ITEMS} times; the queue call alone is timed. Sides: cmwq's
 * per-CPU system workqueue, ThreadPoolExecutor(2) and ForkJoinPool(2) {@code execute}.
 *
 * <p>A paired harness of its own (JMH cannot give per-call percentiles of two threads at once):
 * every round runs the three sides in A B C C B A order inside one JVM; the ratio of elapsed
 * times (cmwq over each peer) is taken per round, the median per fork, and the median of fork
 * medians over {@code --forks} child JVMs. Queue-call latency percentiles come from all samples.
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.EnqueueContention [--forks 5] [--rounds 10] [--items 50000]
 *     [--out FILE]
 * </pre>
 */
public final class EnqueueContention {
  private EnqueueContention() {}

  static final String[] SIDES = {"cmwq", "tpe", "fjp"};

  /** Entry point: the parent spawns the forks and aggregates; {@code --child} runs one fork. */
  public static void main(String[] args) throws Exception {
    int forks = 5;
    int rounds = 10;
    int items = 50_000;
    boolean child = false;
    java.nio.file.Path out = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--forks" -> forks = Integer.parseInt(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--items" -> items = Integer.parseInt(args[++i]);
        case "--child" -> child = true;
        case "--out" -> out = java.nio.file.Path.of(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
      }
    }
    if (child) {
      runFork(rounds, items);
      return;
    }
    Map<String, List<Double>> forkRatios = new HashMap<>();
    Map<String, List<Double>> itemsPerSec = new HashMap<>();
    Map<String, List<Double>> pcts = new HashMap<>();
    for (int f = 0; f < forks; f++) {
      List<String> cmd = new ArrayList<>(List.of(
          java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xms1g", "-Xmx1g", "-XX:+UseParallelGC",
          "-cp", System.getProperty("java.class.path"), EnqueueContention.class.getName(),
          "--child", "--rounds", String.valueOf(rounds), "--items", String.valueOf(items)));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          if (line.startsWith("RESULT ")) {
            String[] kv = line.substring(7).split(" ");
            String key = kv[0];
            double v = Double.parseDouble(kv[1]);
            if (key.startsWith("ratio:")) {
              forkRatios.computeIfAbsent(key.substring(6), k -> new ArrayList<>()).add(v);
            } else if (key.startsWith("rate:")) {
              itemsPerSec.computeIfAbsent(key.substring(5), k -> new ArrayList<>()).add(v);
            } else {
              pcts.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
            }
          } else {
            System.out.println("  [fork " + f + "] " + line);
          }
        }
      }
      if (p.waitFor() != 0) {
        throw new IllegalStateException("fork " + f + " failed");
      }
    }
    StringBuilder md = new StringBuilder("\n### EnqueueContention (benchmark 9)\n\n");
    md.append("| side | items/s (median of forks) | queue call p50 / p90 / p95 ns (median of forks) | cmwq time / side time (median, min–max over forks) | target | met |\n");
    md.append("|---|---|---|---|---|---|\n");
    for (String side : SIDES) {
      List<Double> ratios = forkRatios.get(side);
      String ratio = side.equals("cmwq") || ratios == null ? "" : String.format(Locale.ROOT,
          "%.3f (%.3f–%.3f)", PairedMain.median(ratios), PairedMain.min(ratios), PairedMain.max(ratios));
      String target = side.equals("fjp") ? "≤ 1.0" : side.equals("cmwq") ? "p50 ≤ 100, p95 ≤ 500" : "";
      String met = "";
      if (side.equals("fjp") && ratios != null) {
        met = PairedMain.median(ratios) <= 1.0 ? "yes" : "no";
      } else if (side.equals("cmwq")) {
        met = PairedMain.median(pcts.get("cmwq:p50")) <= 100 && PairedMain.median(pcts.get("cmwq:p95")) <= 500
            ? "yes" : "no";
      }
      md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f / %.0f / %.0f | %s | %s | %s |%n", side,
          PairedMain.median(itemsPerSec.get(side)), PairedMain.median(pcts.get(side + ":p50")),
          PairedMain.median(pcts.get(side + ":p90")), PairedMain.median(pcts.get(side + ":p95")),
          ratio, target, met));
    }
    md.append("\n").append(forks).append(" forks × ").append(rounds).append(" rounds × 2 threads × ")
        .append(items).append(" items; ").append(PairedMain.machine()).append('\n');
    System.out.println(md);
    if (out != null) {
      PairedMain.append(out, md);
    }
  }

  /** One side: how to queue producer {@code p}'s item. */
  interface Side extends AutoCloseable {
    void queue(int p);

    @Override
    void close();
  }

  /** A producer's item: runs, then wakes its producer. */
  static final class Item {
    volatile boolean done;
    volatile Thread producer;

    void run() {
      done = true;
      LockSupport.unpark(producer);
    }

    void await() {
      while (!done) {
        LockSupport.park(this);
      }
      done = false;
    }
  }

  static Side create(String name, Item[] items) {
    switch (name) {
      case "cmwq": {
        WorkqueueSystem sys = WorkqueueSystem.builder().name("bench-ec").jmx(false)
            .watchdogThreshold(Duration.ZERO).build();
        Workqueue wq = sys.system();
        Work[] works = {new Work(items[0]::run), new Work(items[1]::run)};
        return new Side() {
          @Override
          public void queue(int p) {
            wq.queueWork(works[p]);
          }

          @Override
          public void close() {
            sys.close();
          }
        };
      }
      case "tpe":
      case "fjp": {
        ExecutorService ex = name.equals("tpe")
            ? new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>())
            : new ForkJoinPool(2);
        Runnable[] rs = {items[0]::run, items[1]::run};
        Executor e = ex;
        return new Side() {
          @Override
          public void queue(int p) {
            e.execute(rs[p]);
          }

          @Override
          public void close() {
            ex.shutdownNow();
          }
        };
      }
      default:
        throw new IllegalArgumentException(name);
    }
  }

  /** One fork: warm-up, then {@code rounds} paired rounds; prints RESULT lines. */
  static void runFork(int rounds, int items) throws Exception {
    Item[] its = {new Item(), new Item()};
    Side[] sides = new Side[SIDES.length];
    for (int i = 0; i < SIDES.length; i++) {
      sides[i] = create(SIDES[i], its);
    }
    long[][] samples = new long[2][items];
    Map<String, List<Long>> all = new HashMap<>();
    for (String s : SIDES) {
      all.put(s, new ArrayList<>());
    }
    double[][] elapsed = new double[rounds][SIDES.length];
    for (int w = 0; w < 3; w++) {
      for (int i = 0; i < sides.length; i++) {
        runRound(sides[i], its, Math.min(items, 20_000), samples);
      }
    }
    int[] order = new int[2 * SIDES.length];
    for (int r = 0; r < rounds; r++) {
      for (int k = 0; k < SIDES.length; k++) {
        order[k] = (r + k) % SIDES.length;
        order[2 * SIDES.length - 1 - k] = order[k];
      }
      for (int which : order) {
        long ns = runRound(sides[which], its, items, samples);
        elapsed[r][which] += ns;
        List<Long> dst = all.get(SIDES[which]);
        for (long[] s : samples) {
          for (int i = 0; i < items; i += 10) {
            dst.add(s[i]);
          }
        }
      }
    }
    for (int i = 1; i < SIDES.length; i++) {
      List<Double> ratios = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        ratios.add(elapsed[r][0] / elapsed[r][i]);
      }
      System.out.println("RESULT ratio:" + SIDES[i] + " " + PairedMain.median(ratios));
    }
    for (int i = 0; i < SIDES.length; i++) {
      List<Double> rates = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        rates.add(2.0 * 2 * items / (elapsed[r][i] / 1e9));
      }
      System.out.println("RESULT rate:" + SIDES[i] + " " + PairedMain.median(rates));
      long[] xs = all.get(SIDES[i]).stream().mapToLong(Long::longValue).toArray();
      Arrays.sort(xs);
      System.out.println("RESULT " + SIDES[i] + ":p50 " + xs[xs.length / 2]);
      System.out.println("RESULT " + SIDES[i] + ":p90 " + xs[(int) (xs.length * 0.90)]);
      System.out.println("RESULT " + SIDES[i] + ":p95 " + xs[(int) (xs.length * 0.95)]);
    }
    for (Side s : sides) {
      s.close();
    }
  }

  /** Both producers run {@code items} queue-and-wait cycles; returns the elapsed nanoseconds. */
  static long runRound(Side side, Item[] its, int items, long[][] samples) throws Exception {
    CyclicBarrier start = new CyclicBarrier(3);
    Thread[] producers = new Thread[2];
    for (int p = 0; p < 2; p++) {
      int me = p;
      producers[p] = new Thread(() -> {
        its[me].producer = Thread.currentThread();
        try {
          start.await();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        long[] lat = samples[me];
        for (int i = 0; i < items; i++) {
          long t0 = System.nanoTime();
          side.queue(me);
          lat[i] = System.nanoTime() - t0;
          its[me].await();
        }
      }, "producer-" + p);
      producers[p].start();
    }
    start.await();
    long t0 = System.nanoTime();
    for (Thread t : producers) {
      t.join();
    }
    return System.nanoTime() - t0;
  }
}
