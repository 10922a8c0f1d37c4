package dev.cmwq;

import java.util.Locale;

/**
 * {@code tools/workqueue/wq_dump.py}: the configuration as the kernel's drgn script prints it,
 * section by section: affinity scopes and their pods, worker pools, the pool of every CPU of
 * every workqueue, rescuers, and the per-node nr_active / max_active of unbound workqueues.
 * Masks are printed as 32-bit hex words; thread ids are Java thread ids.
 */
final class WqDump {
  private WqDump() {}

  private static final AffinityScope[] SCOPES = {AffinityScope.CPU, AffinityScope.SMT,
      AffinityScope.CACHE, AffinityScope.NUMA, AffinityScope.SYSTEM};

  static String render(WorkqueueSystem sys) {
    StringBuilder sb = new StringBuilder();
    Topology topo = sys.topology;
    int cpus = sys.nrCpus;

    sb.append("Affinity Scopes\n===============\n");
    sb.append("wq_unbound_cpumask=").append(hex(sys.unboundCpumask)).append("\n");
    for (AffinityScope scope : SCOPES) {
      Topology.PodType pt = topo.pods(scope);
      sb.append('\n').append(scope.name())
          .append(scope == AffinityScope.DEFAULT_RESOLVED ? " (default)" : "").append('\n');
      sb.append("  nr_pods  ").append(pt.nrPods()).append('\n');
      sb.append("  pod_cpus");
      for (int i = 0; i < pt.nrPods(); i++) {
        sb.append(" [").append(i).append("]=").append(hex(pt.podCpus[i]));
      }
      sb.append("\n  pod_node");
      for (int i = 0; i < pt.nrPods(); i++) {
        sb.append(" [").append(i).append("]=").append(pt.podNode[i]);
      }
      sb.append("\n  cpu_pod ");
      for (int c = 0; c < cpus; c++) {
        sb.append(" [").append(c).append("]=").append(pt.cpuPod[c]);
      }
      sb.append('\n');
    }

    sb.append("\nWorker Pools\n============\n");
    for (WorkerPool pool : sys.poolsById()) {
      int refcnt;
      sys.poolMutex.lock();
      try {
        refcnt = pool.refcnt;
      } finally {
        sys.poolMutex.unlock();
      }
      pool.lock.lock();
      try {
        sb.append(String.format(Locale.ROOT, "pool[%02d] ref=%2d nice=%3d idle/workers=%3d/%3d ",
            pool.id, refcnt, pool.attrs.nice(), pool.nrIdle, pool.nrWorkers));
      } finally {
        pool.lock.unlock();
      }
      if (pool.cpu >= 0) {
        sb.append(String.format(Locale.ROOT, "cpu=%3d", pool.cpu));
      } else {
        sb.append("cpus=").append(hex(pool.attrs.cpumask())).append(" pod_cpus=")
            .append(hex(pool.attrs.podCpumask())).append(pool.attrs.strict() ? " strict" : "");
      }
      sb.append('\n');
    }

    sb.append("\nWorkqueue CPU -> pool\n=====================\n");
    sb.append(String.format(Locale.ROOT, "[%-31s \\ %-10s CPU", "workqueue", "type"));
    for (int c = 0; c < cpus; c++) {
      sb.append(String.format(Locale.ROOT, " %3d", c));
    }
    sb.append(" dfl]\n");
    for (Workqueue wq : sys.workqueues()) {
      String type;
      if ((wq.flags & Workqueue.WQ_UNBOUND) == 0) {
        type = "percpu";
      } else if (wq.isOrdered()) {
        type = "ordered";
      } else {
        type = wq.attrs().affinityStrict() ? "unbound,S" : "unbound";
      }
      sb.append(String.format(Locale.ROOT, "%-33s %-10s    ", wq.name(), type));
      for (PoolWorkqueue pwq : wq.cpuPwqs()) {
        sb.append(String.format(Locale.ROOT, " %3d", pwq.pool.id));
      }
      PoolWorkqueue dfl = wq.dflPwq();
      sb.append(dfl == null ? "" : String.format(Locale.ROOT, " %3d", dfl.pool.id)).append('\n');
    }

    sb.append("\nWorkqueue -> rescuer\n====================\n");
    sb.append(String.format(Locale.ROOT, "[%-31s %-17s %6s cpumask]\n", "workqueue",
        "unbound_cpus", "tid"));
    for (Workqueue wq : sys.workqueues()) {
      Worker r = wq.rescuer;
      if (r == null) {
        continue;
      }
      String unbound = (wq.flags & Workqueue.WQ_UNBOUND) != 0 ? hex(wq.attrs().cpumask()) : "";
      sb.append(String.format(Locale.ROOT, "%-33s%-17s %6d %s\n", wq.name(), unbound,
          r.thread.getId(), hex(sys.topology.possible())));
    }

    sb.append("\nUnbound workqueue -> node_nr/max_active\n")
        .append("=======================================\n");
    sb.append("online_cpus=").append(hex(topo.possible())).append('\n');
    int nodes = topo.nodes();
    for (int n = 0; n < nodes; n++) {
      sb.append(String.format(Locale.ROOT, "NODE[%02d]=%s\n", n, hex(topo.nodeCpus(n))));
    }
    sb.append(String.format(Locale.ROOT, "[%-31s %7s", "workqueue", "min max"));
    for (int n = 0; n < nodes; n++) {
      sb.append(String.format(Locale.ROOT, "  NODE %-3d", n));
    }
    sb.append("  dfl]\n");
    for (Workqueue wq : sys.workqueues()) {
      if ((wq.flags & Workqueue.WQ_UNBOUND) == 0) {
        continue;
      }
      sb.append(String.format(Locale.ROOT, "%-31s %3d %3d", wq.name(), wq.minActive,
          wq.maxActive));
      for (int n = 0; n <= nodes; n++) {
        NodeNrActive nna = wq.nodeNrActive(n == nodes ? -1 : n);
        sb.append(String.format(Locale.ROOT, "  %3d/%-4d", nna.nrActive(), nna.max));
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  /** 32-bit words, each zero-padded, most significant first ({@code %*pb}). */
  static String hex(CpuMask m) {
    String h = m.toHex();
    int comma = h.indexOf(',');
    String first = comma < 0 ? h : h.substring(0, comma);
    return "0".repeat(Math.max(0, 8 - first.length())) + h;
  }
}
