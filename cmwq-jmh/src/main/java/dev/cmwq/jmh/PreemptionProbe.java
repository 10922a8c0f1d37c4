package dev.cmwq.jmh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How often the producer of a burst is preempted (docs/benchmarks.md, benchmark 1): runs a burst
 * of {@link QueueWorkBurst#BURST} items on side {@code BEFORE} (any {@link BurstPeers} side, or
 * {@code none}), then one on side {@code SIDE}, for the given seconds, and prints {@code SIDE}'s
 * nanoseconds per item and the producer's involuntary context switches per burst, read from
 * {@code /proc/thread-self/status} (Linux). A worker of the producer's CPU that preempts the
 * producer for every few items shows up as hundreds of switches per burst.
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PreemptionProbe cmwq tpe1 5
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.PreemptionProbe cmwq none 5
 * </pre>
 */
public final class PreemptionProbe {
  private PreemptionProbe() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 3) {
      System.err.println("usage: PreemptionProbe SIDE BEFORE|none SECONDS");
      System.exit(2);
    }
    BurstPeers side = BurstPeers.create(args[0], QueueWorkBurst.BURST);
    BurstPeers before = args[1].equals("none") ? null
        : BurstPeers.create(args[1], QueueWorkBurst.BURST);
    long seconds = Long.parseLong(args[2]);
    long nanos = 0;
    long switches = 0;
    long bursts = 0;
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < end) {
      if (before != null) {
        before.runBurst();
      }
      long s0 = involuntarySwitches();
      long t0 = System.nanoTime();
      side.runBurst();
      nanos += System.nanoTime() - t0;
      switches += involuntarySwitches() - s0;
      bursts++;
    }
    System.out.printf("%s after %s: %.1f ns/item, producer preempted %.1f times per burst"
        + " (%d bursts)%n", args[0], args[1], nanos / (double) (bursts * QueueWorkBurst.BURST),
        switches / (double) bursts, bursts);
    side.close();
    if (before != null) {
      before.close();
    }
  }

  /** The calling thread's involuntary context switches so far. */
  static long involuntarySwitches() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
      if (line.startsWith("nonvoluntary_ctxt_switches:")) {
        return Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
      }
    }
    throw new IOException("no nonvoluntary_ctxt_switches in /proc/thread-self/status");
  }
}
