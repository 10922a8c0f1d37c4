package dev.cmwq.linux;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import dev.cmwq.CpuMask;
import dev.cmwq.spi.OsIntegration;

/**
 * {@link OsIntegration} for Linux through JNA direct mapping: {@code sched_getcpu},
 * {@code sched_setaffinity} and {@code setpriority} on the calling thread. Loading it off Linux
 * fails, and the core then runs without OS integration.
 */
public final class LinuxOs implements OsIntegration {
  private static final int PRIO_PROCESS = 0;
  /** {@code cpu_set_t}: 1024 CPUs. */
  private static final int CPU_SETSIZE_LONGS = 16;
  /** {@code SYS_gettid}. */
  private static final long SYS_GETTID = "aarch64".equals(Platform.ARCH) ? 178 : 186;

  static {
    if (!Platform.isLinux()) {
      throw new UnsupportedOperationException("cmwq-native supports Linux only");
    }
    Native.register(LinuxOs.class, Platform.C_LIBRARY_NAME);
  }

  private static native int sched_getcpu();

  private static native int sched_setaffinity(int pid, long cpusetsize, long[] mask);

  private static native int setpriority(int which, int who, int prio);

  private static native long syscall(long number);

  /** The provider constructor ({@link java.util.ServiceLoader}). */
  public LinuxOs() {
    if (!Platform.isLinux()) {
      throw new UnsupportedOperationException("cmwq-native supports Linux only");
    }
  }

  @Override
  public String name() {
    return "linux (JNA " + Native.VERSION + ")";
  }

  @Override
  public int currentOsCpu() {
    return sched_getcpu();
  }

  @Override
  public boolean setCurrentThreadAffinity(CpuMask osCpus) {
    long[] set = new long[CPU_SETSIZE_LONGS];
    boolean any = false;
    for (int cpu = osCpus.first(); cpu >= 0; cpu = osCpus.next(cpu + 1)) {
      if (cpu < CPU_SETSIZE_LONGS * 64) {
        set[cpu >>> 6] |= 1L << cpu;
        any = true;
      }
    }
    return any && sched_setaffinity(0, set.length * 8L, set) == 0;
  }

  @Override
  public boolean setCurrentThreadNice(int nice) {
    // Per thread on Linux: the target is the thread id.
    int tid = (int) syscall(SYS_GETTID);
    return setpriority(PRIO_PROCESS, tid, nice) == 0;
  }
}
