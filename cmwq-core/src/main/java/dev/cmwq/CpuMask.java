package dev.cmwq;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * An immutable set of CPU ids ({@code struct cpumask}), printed and parsed in the kernel's two
 * formats: the hex mask of {@code /sys/.../cpumask} ({@code "ff,ffffffff"}, 32-bit words,
 * most significant first) and the list of {@code cpulist} files ({@code "0-3,8,10-11"}).
 */
public final class CpuMask {
  /** The largest CPU id a mask can hold plus one (the kernel's {@code NR_CPUS} upper bound). */
  public static final int MAX_CPUS = 8192;

  private static final CpuMask EMPTY = new CpuMask(new long[0]);
  private static final CpuMask ALL = range(0, MAX_CPUS - 1);

  /** I: bit i of word i/64 is CPU i; no trailing zero words. */
  private final long[] words;

  private CpuMask(long[] words) {
    int n = words.length;
    while (n > 0 && words[n - 1] == 0) {
      n--;
    }
    this.words = n == words.length ? words : Arrays.copyOf(words, n);
  }

  /** The mask with exactly these CPUs. */
  public static CpuMask of(int... cpus) {
    Checks.notNull(cpus, "cpus");
    long[] w = new long[0];
    for (int cpu : cpus) {
      Checks.inRange(cpu, 0, MAX_CPUS - 1, "cpu");
      w = set(w, cpu);
    }
    return new CpuMask(w);
  }

  /** CPUs {@code from} to {@code toInclusive}. */
  public static CpuMask range(int from, int toInclusive) {
    Checks.inRange(from, 0, MAX_CPUS - 1, "from");
    Checks.inRange(toInclusive, from, MAX_CPUS - 1, "toInclusive");
    long[] w = new long[toInclusive / 64 + 1];
    for (int cpu = from; cpu <= toInclusive; cpu++) {
      w[cpu >>> 6] |= 1L << cpu;
    }
    return new CpuMask(w);
  }

  /** The empty mask. */
  public static CpuMask empty() {
    return EMPTY;
  }

  /** Every CPU id below {@link #MAX_CPUS} (what {@link WorkqueueAttrs#defaults()} asks for). */
  public static CpuMask all() {
    return ALL;
  }

  /**
   * Parses either format. Text starting with {@code 0x}, containing a hex letter, or made of
   * comma-separated groups of which every one after the first has exactly 8 hex digits is a hex
   * mask; anything else is a list ({@code "3"} is CPU 3, not mask 0x3).
   *
   * @throws IllegalArgumentException naming the text when it is neither
   */
  public static CpuMask parse(String text) {
    Checks.notNull(text, "text");
    String t = text.strip();
    if (looksHex(t)) {
      return parseHex(t);
    }
    return parseList(t);
  }

  /** Parses the hex format ({@code "ff,ffffffff"}, optional {@code 0x}). */
  public static CpuMask parseHex(String text) {
    Checks.notNull(text, "text");
    String t = text.strip();
    if (t.startsWith("0x") || t.startsWith("0X")) {
      t = t.substring(2);
    }
    String digits = t.replace(",", "");
    if (digits.isEmpty()) {
      throw bad(text, "a hex mask such as ff,ffffffff");
    }
    long[] w = new long[(digits.length() * 4 + 63) / 64];
    int bit = 0;
    for (int i = digits.length() - 1; i >= 0; i--, bit += 4) {
      int nibble = Character.digit(digits.charAt(i), 16);
      if (nibble < 0) {
        throw bad(text, "a hex mask such as ff,ffffffff");
      }
      for (int b = 0; b < 4; b++) {
        if ((nibble & (1 << b)) != 0) {
          int cpu = bit + b;
          if (cpu >= MAX_CPUS) {
            throw bad(text, "CPU ids below " + MAX_CPUS);
          }
          w[cpu >>> 6] |= 1L << cpu;
        }
      }
    }
    return new CpuMask(w);
  }

  /** Parses the list format ({@code "0-3,8,10-11"}; empty text is the empty mask). */
  public static CpuMask parseList(String text) {
    Checks.notNull(text, "text");
    String t = text.strip();
    if (t.isEmpty()) {
      return EMPTY;
    }
    long[] w = new long[0];
    for (String part : t.split(",", -1)) {
      String p = part.strip();
      int dash = p.indexOf('-');
      int lo;
      int hi;
      try {
        if (dash < 0) {
          lo = hi = Integer.parseInt(p);
        } else {
          lo = Integer.parseInt(p.substring(0, dash).strip());
          hi = Integer.parseInt(p.substring(dash + 1).strip());
        }
      } catch (NumberFormatException e) {
        throw bad(text, "a CPU list such as 0-3,8,10-11");
      }
      if (lo < 0 || hi < lo || hi >= MAX_CPUS) {
        throw bad(text, "ranges lo-hi with 0 <= lo <= hi < " + MAX_CPUS);
      }
      for (int cpu = lo; cpu <= hi; cpu++) {
        w = set(w, cpu);
      }
    }
    return new CpuMask(w);
  }

  private static boolean looksHex(String t) {
    if (t.startsWith("0x") || t.startsWith("0X")) {
      return true;
    }
    if (t.isEmpty() || t.indexOf('-') >= 0) {
      return false;
    }
    for (int i = 0; i < t.length(); i++) {
      char c = t.charAt(i);
      if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
        return true;
      }
    }
    String[] groups = t.split(",", -1);
    if (groups.length < 2) {
      return false;
    }
    for (int i = 1; i < groups.length; i++) {
      if (groups[i].length() != 8) {
        return false;
      }
    }
    return true;
  }

  private static IllegalArgumentException bad(String text, String expected) {
    return new IllegalArgumentException("cpumask: \"" + text + "\" (expected: " + expected + ")");
  }

  private static long[] set(long[] w, int cpu) {
    int i = cpu >>> 6;
    if (i >= w.length) {
      w = Arrays.copyOf(w, i + 1);
    }
    w[i] |= 1L << cpu;
    return w;
  }

  /** Whether {@code cpu} is in the mask. */
  public boolean contains(int cpu) {
    int i = cpu >>> 6;
    return cpu >= 0 && i < words.length && (words[i] & (1L << cpu)) != 0;
  }

  /** Number of CPUs in the mask. */
  public int cardinality() {
    int n = 0;
    for (long w : words) {
      n += Long.bitCount(w);
    }
    return n;
  }

  /** Whether the mask has no CPU. */
  public boolean isEmpty() {
    return words.length == 0;
  }

  /** The lowest CPU, or -1 when empty. */
  public int first() {
    return next(0);
  }

  /** The lowest CPU at or above {@code from}, or -1. */
  public int next(int from) {
    if (from < 0) {
      from = 0;
    }
    for (int i = from >>> 6; i < words.length; i++) {
      long w = words[i];
      if (i == from >>> 6) {
        w &= -1L << from;
      }
      if (w != 0) {
        return i * 64 + Long.numberOfTrailingZeros(w);
      }
    }
    return -1;
  }

  /** The CPUs in ascending order. */
  public IntStream stream() {
    return IntStream.iterate(first(), c -> c >= 0, c -> next(c + 1));
  }

  /** The CPUs of both masks. */
  public CpuMask and(CpuMask other) {
    int n = Math.min(words.length, other.words.length);
    long[] w = new long[n];
    for (int i = 0; i < n; i++) {
      w[i] = words[i] & other.words[i];
    }
    return new CpuMask(w);
  }

  /** The CPUs of either mask. */
  public CpuMask or(CpuMask other) {
    long[] w = Arrays.copyOf(words, Math.max(words.length, other.words.length));
    for (int i = 0; i < other.words.length; i++) {
      w[i] |= other.words[i];
    }
    return new CpuMask(w);
  }

  /** Whether the masks share a CPU. */
  public boolean intersects(CpuMask other) {
    int n = Math.min(words.length, other.words.length);
    for (int i = 0; i < n; i++) {
      if ((words[i] & other.words[i]) != 0) {
        return true;
      }
    }
    return false;
  }

  /** Whether every CPU of this mask is in {@code other}. */
  public boolean isSubsetOf(CpuMask other) {
    for (int i = 0; i < words.length; i++) {
      long o = i < other.words.length ? other.words[i] : 0;
      if ((words[i] & ~o) != 0) {
        return false;
      }
    }
    return true;
  }

  /** The list format, {@code "0-3,8"}; empty string for the empty mask. */
  public String toList() {
    StringBuilder sb = new StringBuilder();
    int cpu = first();
    while (cpu >= 0) {
      int end = cpu;
      while (contains(end + 1)) {
        end++;
      }
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(cpu);
      if (end > cpu) {
        sb.append('-').append(end);
      }
      cpu = next(end + 1);
    }
    return sb.toString();
  }

  /** The hex format in 32-bit words, most significant first: {@code "ff,ffffffff"}; {@code "0"} when empty. */
  public String toHex() {
    int nWords32 = Math.max(1, (words.length * 64 + 31) / 32);
    while (nWords32 > 1 && word32(nWords32 - 1) == 0) {
      nWords32--;
    }
    StringBuilder sb = new StringBuilder();
    sb.append(Integer.toHexString(word32(nWords32 - 1)));
    for (int i = nWords32 - 2; i >= 0; i--) {
      String h = Integer.toHexString(word32(i));
      sb.append(',').append("0".repeat(8 - h.length())).append(h);
    }
    return sb.toString();
  }

  private int word32(int i) {
    int w = i >>> 1;
    if (w >= words.length) {
      return 0;
    }
    return (int) (words[w] >>> ((i & 1) * 32));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CpuMask && Arrays.equals(words, ((CpuMask) o).words);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(words);
  }

  /** The list format. */
  @Override
  public String toString() {
    return toList();
  }
}
