package dev.cmwq.spi;

import dev.cmwq.CpuMask;

/**
 * What the operating system can do for workers, found with {@link java.util.ServiceLoader}
 * (the optional {@code cmwq-native} module provides it for Linux). Without an implementation
 * the engine works the same, with workers unpinned, at the JVM's default priority, and
 * non-worker threads queueing to a CPU chosen per thread.
 *
 * <p>Every method acts on the calling thread and must be cheap and non-blocking.
 */
public interface OsIntegration {
  /** A short name for logs. */
  String name();

  /** The operating system's id of the CPU the calling thread runs on, or -1 if unknown. */
  int currentOsCpu();

  /**
   * Restricts the calling thread to the given operating-system CPU ids.
   *
   * @return false if it could not be done
   */
  boolean setCurrentThreadAffinity(CpuMask osCpus);

  /**
   * Sets the calling thread's nice level (-20 to 19).
   *
   * @return false if it could not be done (for example, raising priority without privileges)
   */
  boolean setCurrentThreadNice(int nice);
}
