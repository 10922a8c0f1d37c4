package dev.cmwq.jmh;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark 7's work split in two, without JMH: arms {@code n} timers (random 1–60 s delays,
 * as {@link TimerScale1M}) on one side of {@link TimerPeers}, then cancels them all, and prints
 * the nanoseconds per arm and per cancel for each round. Run with {@code -Dn=10000} to see the
 * in-cache cost.
 *
 * <pre>
 * java -Xms2g -Xmx2g -XX:+UseParallelGC -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.TimerProbe cmwq 10
 * java ... dev.cmwq.jmh.TimerProbe cmwq,stpe,netty 8   (the sides in turn, as TimerScale1M)
 * </pre>
 */
public final class TimerProbe {
  private TimerProbe() {}

  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: TimerProbe SIDE[,SIDE...] ROUNDS (sides: cmwq, cmwqDuration, stpe, netty)   (-Dn=timers, default 1000000)");
      System.exit(2);
    }
    int n = Integer.getInteger("n", TimerScale1M.N);
    int rounds = Integer.parseInt(args[1]);
    SplittableRandom rnd = new SplittableRandom(7);
    long[] delays = new long[n];
    Duration[] durations = new Duration[n];
    for (int i = 0; i < n; i++) {
      delays[i] = TimeUnit.MILLISECONDS.toNanos(1000 + rnd.nextInt(59_000));
      durations[i] = Duration.ofNanos(delays[i]);
    }
    String[] names = args[0].split(",");
    TimerPeers[] sides = new TimerPeers[names.length];
    for (int k = 0; k < names.length; k++) {
      sides[k] = TimerPeers.create(names[k], n, TimerScale1M.NOOP);
    }
    for (int r = 0; r < rounds; r++) {
      for (TimerPeers side : sides) {
        long t0 = System.nanoTime();
        side.armAll(delays, durations); // cmwq takes the caller's Durations, as TimerScale1M
        long t1 = System.nanoTime();
        side.cancelAll();
        long t2 = System.nanoTime();
        side.settle(); // the side's deferred work, so that it does not overlap the next round
        long t3 = System.nanoTime();
        System.out.printf("%s: arm %.1f ns, cancel %.1f ns, settle %.1f ns%n", side.name,
            (t1 - t0) / (double) n, (t2 - t1) / (double) n, (t3 - t2) / (double) n);
      }
    }
    for (TimerPeers side : sides) {
      side.close();
    }
  }
}
