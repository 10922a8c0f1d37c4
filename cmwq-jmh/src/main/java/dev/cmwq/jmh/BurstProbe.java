package dev.cmwq.jmh;

/**
 * A quick look at the burst benchmarks without JMH: runs bursts of 10 000 items on the named
 * sides of {@link BurstPeers} for the given seconds, rotating the order when there are several
 * (as {@link QueueWorkBurst#paired} does), and prints each side's nanoseconds per item. Good for
 * {@code perf} and for comparing two builds; the paired JMH benchmarks are the measurement.
 *
 * <pre>
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.BurstProbe cmwq 5
 * java -cp cmwq-jmh/target/benchmarks.jar dev.cmwq.jmh.BurstProbe cmwq,tpe 6
 * </pre>
 */
public final class BurstProbe {
  private BurstProbe() {}

  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: BurstProbe SIDE[,SIDE...] SECONDS   (sides: cmwq, cmwqUnbound,"
          + " cmwqOrdered, kthread, tpe, tpe1, fjp, guavaSeq, disruptor, mpsc)");
      System.exit(2);
    }
    String[] names = args[0].split(",");
    long seconds = Long.parseLong(args[1]);
    BurstPeers[] sides = BurstPeers.createAll(names, QueueWorkBurst.BURST);
    long[] nanos = new long[names.length];
    long bursts = 0;
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    for (int round = 0; System.nanoTime() < end; round++) {
      long[] ns = BurstPeers.runRotated(sides, round);
      for (int i = 0; i < ns.length; i++) {
        nanos[i] += ns[i];
      }
      bursts++;
    }
    for (int i = 0; i < names.length; i++) {
      System.out.printf("%s: %.1f ns/item%n", names[i],
          nanos[i] / (double) (bursts * QueueWorkBurst.BURST));
    }
    BurstPeers.closeAll(sides);
  }
}
