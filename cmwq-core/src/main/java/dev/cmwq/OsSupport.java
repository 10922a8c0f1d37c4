package dev.cmwq;

import dev.cmwq.spi.OsIntegration;
import java.lang.System.Logger.Level;
import java.util.Iterator;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.function.IntSupplier;

/**
 * The {@link OsIntegration} in use (the first one {@link ServiceLoader} finds that starts, else
 * one that does nothing), and how workers use it: per-CPU workers are pinned to their CPU,
 * unbound workers to their pod (strict) or their workqueue's CPUs; each runs at its pool's
 * nice level, high-priority pools at -20 where the process may raise priority (else a logged
 * fallback to the default).
 */
final class OsSupport {
  /** I: the integration. */
  static final OsIntegration OS = load();
  /** I: whether a real integration was found. */
  static final boolean NATIVE = !(OS instanceof None);

  private OsSupport() {}

  private static OsIntegration load() {
    try {
      Iterator<OsIntegration> it = ServiceLoader.load(OsIntegration.class,
          OsSupport.class.getClassLoader()).iterator();
      while (it.hasNext()) {
        try {
          OsIntegration os = it.next();
          Warn.LOG.log(Level.DEBUG, "workqueue: OS integration " + os.name());
          return os;
        } catch (ServiceConfigurationError | LinkageError e) {
          Warn.once("os-integration", "workqueue: OS integration unavailable: " + e);
        }
      }
    } catch (ServiceConfigurationError e) {
      Warn.once("os-integration", "workqueue: OS integration unavailable: " + e);
    }
    return new None();
  }

  /** The logical CPU the calling thread runs on, or -1. */
  static int currentCpu(Topology topology) {
    if (!NATIVE) {
      return -1;
    }
    return LAST_CPU.get().cpu(topology, READ_CPU);
  }

  private static final IntSupplier READ_CPU = OS::currentOsCpu;

  /**
   * Calls between two reads of the OS's CPU per thread. {@code sched_getcpu} through JNA costs
   * about 40 ns, most of a per-CPU {@code queueWork}; the answer is only a locality hint (a Java
   * thread cannot stop itself migrating, so nothing may depend on it), and a thread that has
   * migrated queueing a few more items on its previous CPU's pool is the same as a migration
   * just after the lookup.
   */
  static final int CPU_REREAD = 32;

  private static final ThreadLocal<LastCpu> LAST_CPU = ThreadLocal.withInitial(LastCpu::new);

  /** S (its thread only): the calling thread's CPU as last read, and the calls until a re-read. */
  static final class LastCpu {
    /** S: the OS CPU id last read. */
    private int osCpu;
    /** S: calls left before the next read. */
    private int left;
    /** S: the topology {@link #cpu} was mapped with (null: map again). */
    private Topology mappedBy;
    /** S: {@link #osCpu} in that topology's numbering, or -1. */
    private int cpu = -1;

    /** The CPU in {@code topology}'s numbering, reading the OS's id through {@code read}. */
    int cpu(Topology topology, IntSupplier read) {
      if (--left < 0) {
        left = CPU_REREAD - 1;
        int os = read.getAsInt();
        if (os != osCpu) {
          osCpu = os;
          mappedBy = null;
        }
      }
      if (mappedBy != topology) {
        cpu = osCpu < 0 ? -1 : topology.cpuOfOsId(osCpu);
        mappedBy = topology;
      }
      return cpu;
    }
  }

  /** Called by a pool worker on its own thread when it starts. */
  static void bindPoolWorker(WorkerPool pool) {
    if (!NATIVE) {
      return;
    }
    Topology topo = pool.system.topology;
    CpuMask cpus = pool.cpu >= 0 ? CpuMask.of(pool.cpu)
        : pool.attrs.strict() ? pool.attrs.podCpumask() : pool.attrs.cpumask();
    OS.setCurrentThreadAffinity(topo.toOsCpus(cpus));
    setNice(pool.attrs.nice());
  }

  /** Called by a rescuer on its own thread when it starts ({@code RESCUER_NICE_LEVEL}). */
  static void bindRescuer(Workqueue wq) {
    if (!NATIVE) {
      return;
    }
    Topology topo = wq.system.topology;
    CpuMask cpus = (wq.flags & Workqueue.WQ_UNBOUND) != 0 ? wq.attrs().cpumask() : topo.possible();
    OS.setCurrentThreadAffinity(topo.toOsCpus(cpus));
    setNice(WorkerPool.HIGHPRI_NICE_LEVEL);
  }

  private static void setNice(int nice) {
    if (!OS.setCurrentThreadNice(nice) && nice < 0) {
      Warn.once("nice-" + nice, "workqueue: cannot set nice " + nice + " (raising priority needs"
          + " CAP_SYS_NICE or a suitable RLIMIT_NICE); high-priority workers run at the default");
    }
  }

  /** No OS integration: nothing is known, nothing is done. */
  static final class None implements OsIntegration {
    @Override
    public String name() {
      return "none";
    }

    @Override
    public int currentOsCpu() {
      return -1;
    }

    @Override
    public boolean setCurrentThreadAffinity(CpuMask osCpus) {
      return false;
    }

    @Override
    public boolean setCurrentThreadNice(int nice) {
      return false;
    }
  }
}
