package dev.cmwq;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What Linux's {@code /proc} tells about our own threads, used by the sampling tick to tell a
 * worker that is RUNNABLE for the JVM but blocked in the kernel (native I/O: state S or D) from
 * one that is running or merely preempted (state R). Elsewhere every answer is "unknown" and
 * the tick falls back to CPU-time heuristics.
 */
final class ProcFs {
  private static final Path THREAD_SELF = Path.of("/proc/thread-self");
  private static final boolean AVAILABLE = Files.isSymbolicLink(THREAD_SELF);

  private ProcFs() {}

  /** The calling thread's kernel tid, or -1 when /proc is not available. */
  static int currentTid() {
    if (!AVAILABLE) {
      return -1;
    }
    try {
      String link = Files.readSymbolicLink(THREAD_SELF).toString(); // "<pid>/task/<tid>"
      return Integer.parseInt(link.substring(link.lastIndexOf('/') + 1));
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * The scheduler state of thread {@code tid} of this process ({@code R}, {@code S}, {@code D},
   * ...), or {@code '?'} when it cannot be read.
   */
  static char threadState(int tid) {
    if (tid <= 0) {
      return '?';
    }
    try {
      byte[] stat = Files.readAllBytes(Path.of("/proc/self/task/" + tid + "/stat"));
      String s = new String(stat, StandardCharsets.US_ASCII);
      int close = s.lastIndexOf(')'); // "tid (comm) S ...": comm may contain anything
      return close >= 0 && close + 2 < s.length() ? s.charAt(close + 2) : '?';
    } catch (IOException | RuntimeException e) {
      return '?';
    }
  }
}
