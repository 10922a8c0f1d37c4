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
 * </pre>
 */
public final class TimerProbe {
  private TimerProbe() {}

  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: TimerProbe cmwq|stpe|netty ROUNDS   (-Dn=timers, default 1000000)");
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
    TimerPeers side = TimerPeers.create(args[0], n, TimerScale1M.NOOP);
    TimerPeers.Cmwq cmwq = side instanceof TimerPeers.Cmwq ? (TimerPeers.Cmwq) side : null;
    for (int r = 0; r < rounds; r++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        if (cmwq != null) {
          cmwq.arm(i, durations[i]); // the caller's Duration, as TimerScale1M passes it
        } else {
          side.arm(i, delays[i]);
        }
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        side.cancel(i);
      }
      long t2 = System.nanoTime();
      side.settle(); // the side's deferred work, so that it does not overlap the next round
      long t3 = System.nanoTime();
      System.out.printf("%s: arm %.1f ns, cancel %.1f ns, settle %.1f ns%n", args[0],
          (t1 - t0) / (double) n, (t2 - t1) / (double) n, (t3 - t2) / (double) n);
    }
    side.close();
  }
}
