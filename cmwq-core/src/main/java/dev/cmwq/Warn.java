package dev.cmwq;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The kernel's {@code WARN_ON_ONCE} / {@code pr_warn_once}: a warning logged through
 * {@link System.Logger} the first time a given key is seen, and a counter of every
 * internal-consistency warning so tests can assert that none fired.
 */
final class Warn {
  static final Logger LOG = System.getLogger("dev.cmwq");

  private static final Set<String> SEEN = ConcurrentHashMap.newKeySet();
  private static final AtomicLong WARNINGS = new AtomicLong();

  private Warn() {}

  /** Logs {@code message} at WARNING once per {@code key}; counts every call. */
  static void once(String key, String message) {
    WARNINGS.incrementAndGet();
    if (SEEN.add(key)) {
      LOG.log(Level.WARNING, message);
    }
  }

  /** Logs at WARNING every time and counts it (the kernel's plain {@code WARN}). */
  static void always(String message) {
    WARNINGS.incrementAndGet();
    LOG.log(Level.WARNING, message);
  }

  /** Logs at WARNING with a throwable every time and counts it. */
  static void always(String message, Throwable t) {
    WARNINGS.incrementAndGet();
    LOG.log(Level.WARNING, message, t);
  }

  /** How many warnings fired since the JVM started (tests compare before/after). */
  static long count() {
    return WARNINGS.get();
  }
}
