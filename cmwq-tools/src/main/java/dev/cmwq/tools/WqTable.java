package dev.cmwq.tools;

import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueStats;
import dev.cmwq.WqFlag;
import java.util.Locale;

/**
 * The table of {@code tools/workqueue/wq_monitor.py}, shared by {@code cmwq monitor} (rows read
 * over JMX) and {@code cmwq demo} (rows read in process). Same columns, widths and rules: CPU
 * time in seconds; {@code CPUitsv} only for per-CPU workqueues; {@code CMW/RPR} is CM wake-ups
 * for per-CPU and repatriations for unbound ones; {@code mayday}/{@code rescued} only for
 * MEM_RECLAIM ones; names keep their last 24 characters.
 */
final class WqTable {
  private WqTable() {}

  /** One workqueue's cumulative statistics. */
  record Row(String name, boolean unbound, boolean memReclaim, long started, long completed,
      long cpuTimeNanos, long cpuIntensive, long cmWakeups, long repatriated, long mayday,
      long rescued) {

    static Row of(Workqueue wq) {
      return of(wq.name(), wq, wq.stats());
    }

    static Row of(String name, Workqueue wq, WorkqueueStats s) {
      return new Row(name, wq.flags().contains(WqFlag.UNBOUND),
          wq.flags().contains(WqFlag.MEM_RECLAIM), s.started(), s.completed(), s.cpuTimeNanos(),
          s.cpuIntensive(), s.cmWakeups(), s.repatriated(), s.mayday(), s.rescued());
    }

    long inFlight() {
      return Math.max(started - completed, 0);
    }

    /** This row plus {@code o}'s counters, under this row's name and flags. */
    Row plus(Row o) {
      return new Row(name, unbound, memReclaim, started + o.started, completed + o.completed,
          cpuTimeNanos + o.cpuTimeNanos, cpuIntensive + o.cpuIntensive, cmWakeups + o.cmWakeups,
          repatriated + o.repatriated, mayday + o.mayday, rescued + o.rescued);
    }

    /** wq_monitor.py's JSON record ({@code cpu_time} in microseconds, as the kernel counts). */
    String json(double timestamp) {
      return String.format(Locale.ROOT, "{\"timestamp\": %.3f, \"name\": %s, \"unbound\": %b, "
          + "\"mem_reclaim\": %b, \"started\": %d, \"completed\": %d, \"cpu_time\": %d, "
          + "\"cpu_intensive\": %d, \"cm_wakeup\": %d, \"repatriated\": %d, \"mayday\": %d, "
          + "\"rescued\": %d}", timestamp, quote(name), unbound, memReclaim, started, completed,
          cpuTimeNanos / 1000, cpuIntensive, cmWakeups, repatriated, mayday, rescued);
    }
  }

  static String header() {
    return String.format(Locale.ROOT, "%24s %8s %5s %8s %7s %7s %7s %7s", "", "total", "infl",
        "CPUtime", "CPUitsv", "CMW/RPR", "mayday", "rescued");
  }

  static String row(Row r) {
    String name = r.name().length() > 24 ? r.name().substring(r.name().length() - 24) : r.name();
    String itsv = r.unbound() ? "-" : Long.toString(r.cpuIntensive());
    String cmwRpr = Long.toString(r.unbound() ? r.repatriated() : r.cmWakeups());
    String mayday = r.memReclaim() ? Long.toString(r.mayday()) : "-";
    String rescued = r.memReclaim() ? Long.toString(r.rescued()) : "-";
    return String.format(Locale.ROOT, "%-24s %8d %5d %8.1f %7s %7s %7s %7s", name, r.started(),
        r.inFlight(), r.cpuTimeNanos() / 1e9, itsv, cmwRpr, mayday, rescued);
  }

  /** A JSON string literal. */
  static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
