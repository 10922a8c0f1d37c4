package dev.cmwq.jmh;

import dev.cmwq.AffinityScope;
import dev.cmwq.CpuMask;
import dev.cmwq.Topology;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueAttrs;
import dev.cmwq.WorkqueueSystem;
import dev.cmwq.spi.OsIntegration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;

/**
 * Issue 5's locality benchmark: a producer pinned to CPU 0 fills a buffer and queues an item
 * that reads it, on an unbound workqueue with CACHE scope (the item runs in the producer's
 * last-level-cache pod) versus SYSTEM scope (anywhere). Reports queue-to-start latency
 * percentiles and throughput, alternating the two in rounds inside one JVM (paired ratios).
 *
 * <p>Needs cmwq-native (pinning). The machine's topology is used when it has several caches;
 * otherwise CPUs are simulated as separate caches ({@code --simulate-caches}, the default on a
 * single-cache machine) so the pods differ while pinning stays real.
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.LocalityBench [--items N] [--rounds R] [--strict]
 * </pre>
 */
public final class LocalityBench {
  private LocalityBench() {}

  /** Written by every item so the JIT cannot drop the buffer reads. */
  static volatile long sink;

  /** Entry point. */
  public static void main(String[] args) throws Exception {
    int items = 20_000;
    int rounds = 10;
    boolean strict = false;
    int bufferBytes = 64 * 1024;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--items" -> items = Integer.parseInt(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--strict" -> strict = true;
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    OsIntegration os = ServiceLoader.load(OsIntegration.class).findFirst()
        .orElseThrow(() -> new IllegalStateException("cmwq-native is needed (pinning)"));
    Topology topo = Topology.detect();
    String note = "detected " + topo;
    if (topo.podCount(AffinityScope.CACHE) < 2) {
      topo = Topology.of(topo.cpus(), 1, 1, topo.cpus()); // one cache per CPU, one node
      note = "simulated one LLC per CPU on " + Topology.detect();
    }
    try (WorkqueueSystem sys = WorkqueueSystem.builder().topology(topo).build()) {
      WorkqueueAttrs base = WorkqueueAttrs.defaults().withAffinityStrict(strict);
      Workqueue cache = sys.workqueue("loc_cache").unbound().build();
      cache.applyAttrs(base.withAffinityScope(AffinityScope.CACHE));
      Workqueue system = sys.workqueue("loc_system").unbound().build();
      system.applyAttrs(base.withAffinityScope(AffinityScope.SYSTEM));
      int producerCpu = 0;
      CpuMask pod = topo.podCpus(AffinityScope.CACHE, topo.cpuPod(AffinityScope.CACHE, producerCpu));

      List<double[]> cacheRuns = new ArrayList<>();
      List<double[]> systemRuns = new ArrayList<>();
      List<Double> latRatios = new ArrayList<>();
      List<Double> tputRatios = new ArrayList<>();
      for (int r = -2; r < rounds; r++) { // two warm-up rounds
        boolean cacheFirst = (r & 1) == 0;
        double[] a = run(cacheFirst ? cache : system, os, topo, producerCpu, pod, items, bufferBytes);
        double[] b = run(cacheFirst ? system : cache, os, topo, producerCpu, pod, items, bufferBytes);
        if (r < 0) {
          continue;
        }
        double[] c = cacheFirst ? a : b;
        double[] s = cacheFirst ? b : a;
        cacheRuns.add(c);
        systemRuns.add(s);
        latRatios.add(c[0] / s[0]);
        tputRatios.add(c[2] / s[2]);
      }
      System.out.printf(Locale.ROOT, "%n| scope | queue-to-start p50 (µs) | p99 (µs) | items/s | "
          + "ran in producer's pod |%n|---|---|---|---|---|%n");
      print("CACHE" + (strict ? " (strict)" : ""), cacheRuns);
      print("SYSTEM", systemRuns);
      System.out.printf(Locale.ROOT, "%nmedian ratio CACHE/SYSTEM: p50 latency %.3f (min %.3f, max"
          + " %.3f), throughput %.3f (min %.3f, max %.3f); %d rounds of %d items, producer on CPU"
          + " %d; %s; JDK %s%n", PairedMain.median(latRatios), PairedMain.min(latRatios),
          PairedMain.max(latRatios), PairedMain.median(tputRatios), PairedMain.min(tputRatios),
          PairedMain.max(tputRatios), rounds, items, producerCpu, note,
          System.getProperty("java.version"));
    }
  }

  /** {p50 µs, p99 µs, items/s, fraction in the producer's pod}. */
  static double[] run(Workqueue wq, OsIntegration os, Topology topo, int producerCpu,
      CpuMask pod, int items, int bufferBytes) throws InterruptedException {
    long[] latency = new long[items];
    int[] inPod = new int[1];
    CountDownLatch done = new CountDownLatch(items);
    double[] result = new double[4];
    Thread producer = new Thread(() -> {
      os.setCurrentThreadAffinity(CpuMask.of(topo.osCpuId(producerCpu)));
      byte[][] buffers = new byte[64][bufferBytes];
      long start = System.nanoTime();
      for (int i = 0; i < items; i++) {
        byte[] buf = buffers[i & 63];
        Arrays.fill(buf, (byte) i); // the producer's writes, the consumer's reads
        int id = i;
        long queued = System.nanoTime();
        wq.queueWork(new Work(() -> {
          latency[id] = System.nanoTime() - queued;
          long sum = 0;
          for (int k = 0; k < buf.length; k += 64) {
            sum += buf[k];
          }
          int cpu = topo.cpuOfOsId(os.currentOsCpu());
          if (cpu >= 0 && pod.contains(cpu)) {
            synchronized (inPod) {
              inPod[0]++;
            }
          }
          sink = sum; // keeps the reads alive
          done.countDown();
        }));
        if ((i & 31) == 31) {
          wq.flush(); // bounded batches: measure hand-off, not a queue backlog
        }
      }
      try {
        done.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      double secs = (System.nanoTime() - start) / 1e9;
      result[2] = items / secs;
    });
    producer.start();
    producer.join();
    Arrays.sort(latency);
    result[0] = latency[items / 2] / 1000.0;
    result[1] = latency[items * 99 / 100] / 1000.0;
    result[3] = inPod[0] / (double) items;
    return result;
  }

  private static void print(String name, List<double[]> runs) {
    double[] p50 = runs.stream().mapToDouble(x -> x[0]).sorted().toArray();
    double[] p99 = runs.stream().mapToDouble(x -> x[1]).sorted().toArray();
    double[] tput = runs.stream().mapToDouble(x -> x[2]).sorted().toArray();
    double[] pod = runs.stream().mapToDouble(x -> x[3]).sorted().toArray();
    System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.0f | %.0f %% |%n", name,
        p50[p50.length / 2], p99[p99.length / 2], tput[tput.length / 2], 100 * pod[pod.length / 2]);
  }

}
