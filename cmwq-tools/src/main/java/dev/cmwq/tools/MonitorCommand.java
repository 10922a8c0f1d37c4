package dev.cmwq.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.JMException;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code cmwq monitor [PID] [REGEX…] [-i SECS] [--json]}: wq_monitor.py for a running JVM. */
@Command(name = "monitor", mixinStandardHelpOptions = true,
    description = {"Workqueue statistics of a running JVM, as tools/workqueue/wq_monitor.py shows"
        + " them (cumulative): total items run, in flight, CPU time (s), CPU-intensive marks,"
        + " CM wake-ups (per-CPU) or repatriations (unbound), mayday and rescued (MEM_RECLAIM).",
        "Attaches through the Attach API and reads the dev.cmwq MBeans over JMX. Without a PID,"
        + " lists the Java processes one can attach to."})
final class MonitorCommand implements Callable<Integer> {
  private static final String[] ATTRS = {"name", "flags", "started", "completed",
      "cpuTimeNanos", "cpuIntensive", "cmWakeups", "repatriated", "mayday", "rescued"};

  @Parameters(paramLabel = "PID [REGEX]", arity = "0..*",
      description = "Process id of the JVM, then workqueue name patterns (all if none)")
  List<String> args = new ArrayList<>();

  @Option(names = {"-i", "--interval"}, paramLabel = "SECS", defaultValue = "1",
      description = "Seconds between tables (0: print once and exit; default ${DEFAULT-VALUE})")
  double interval;

  @Option(names = {"-j", "--json"}, description = "One JSON object per workqueue per interval")
  boolean json;

  @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "0",
      description = "Stop after N tables (default: until interrupted)")
  int count;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (args.isEmpty()) {
      Attach.listJvms(out, "monitor");
      return 0;
    }
    long pid = Cmwq.pid(spec, args.get(0));
    if (interval < 0 || Double.isNaN(interval)) {
      throw new ParameterException(spec.commandLine(), "--interval: " + interval
          + " (expected: >= 0)");
    }
    if (count < 0) {
      throw new ParameterException(spec.commandLine(), "--count: " + count + " (expected: >= 0)");
    }
    Pattern filter;
    try {
      filter = args.size() > 1 ? Pattern.compile(String.join("|", args.subList(1, args.size())))
          : null;
    } catch (PatternSyntaxException e) {
      throw new ParameterException(spec.commandLine(), "REGEX: " + e.getDescription() + " in "
          + e.getPattern());
    }
    try (Attach target = Attach.to(pid)) {
      for (int n = 1; ; n++) {
        List<WqTable.Row> rows = read(target.server, filter);
        double now = System.currentTimeMillis() / 1000.0;
        if (!json) {
          out.println();
          out.println(WqTable.header());
        }
        for (WqTable.Row r : rows) {
          out.println(json ? r.json(now) : WqTable.row(r));
        }
        out.flush();
        if (interval == 0 || (count > 0 && n >= count)) {
          return 0;
        }
        Thread.sleep((long) (interval * 1000));
      }
    }
  }

  /** Every workqueue's row, in each system's creation order, filtered by name. */
  static List<WqTable.Row> read(MBeanServerConnection server, Pattern filter)
      throws IOException, JMException {
    Map<String, List<String>> order = new HashMap<>();
    for (ObjectName sys : server.queryNames(Attach.SYSTEMS, null)) {
      String[] names = (String[]) server.getAttribute(sys, "workqueues");
      order.put(systemOf(sys, "name"), List.of(names));
    }
    boolean many = order.size() > 1;
    List<Object[]> found = new ArrayList<>();
    for (ObjectName bean : server.queryNames(Attach.WORKQUEUES, null)) {
      AttributeList list;
      try {
        list = server.getAttributes(bean, ATTRS);
      } catch (javax.management.InstanceNotFoundException gone) {
        continue; // destroyed meanwhile
      }
      Map<String, Object> a = new HashMap<>();
      for (Attribute at : list.asList()) {
        a.put(at.getName(), at.getValue());
      }
      if (a.size() != ATTRS.length) {
        continue;
      }
      String name = (String) a.get("name");
      if (filter != null && !filter.matcher(name).find()) {
        continue;
      }
      String system = systemOf(bean, "system");
      List<String> flags = List.of((String[]) a.get("flags"));
      WqTable.Row row = new WqTable.Row(many ? system + "/" + name : name,
          flags.contains("UNBOUND"), flags.contains("MEM_RECLAIM"), (long) a.get("started"),
          (long) a.get("completed"), (long) a.get("cpuTimeNanos"), (long) a.get("cpuIntensive"),
          (long) a.get("cmWakeups"), (long) a.get("repatriated"), (long) a.get("mayday"),
          (long) a.get("rescued"));
      List<String> names = order.getOrDefault(system, List.of());
      int index = names.indexOf(name);
      String instance = bean.getKeyProperty("instance");
      found.add(new Object[] {system, index < 0 ? Integer.MAX_VALUE : index,
          instance == null ? 1 : Integer.parseInt(instance), row});
    }
    found.sort(Comparator.<Object[], String>comparing(o -> (String) o[0])
        .thenComparingInt(o -> (int) o[1]).thenComparingInt(o -> (int) o[2]));
    List<WqTable.Row> rows = new ArrayList<>();
    for (Object[] o : found) {
      rows.add((WqTable.Row) o[3]);
    }
    return rows;
  }

  /** The system a bean belongs to: its key, or the default system's name. */
  private static String systemOf(ObjectName bean, String key) {
    String v = bean.getKeyProperty(key);
    if (v == null) {
      return "default";
    }
    return v.startsWith("\"") ? ObjectName.unquote(v) : v;
  }
}
