package dev.cmwq;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.InvalidAttributeValueException;
import javax.management.JMException;
import javax.management.MBeanException;
import javax.management.MBeanInfo;
import javax.management.MBeanOperationInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.ReflectionException;
import javax.management.openmbean.ArrayType;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenDataException;
import javax.management.openmbean.OpenMBeanAttributeInfoSupport;
import javax.management.openmbean.OpenMBeanInfoSupport;
import javax.management.openmbean.OpenMBeanOperationInfoSupport;
import javax.management.openmbean.OpenMBeanParameterInfo;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;

/**
 * JMX, the JVM's sysfs: one MBean per workqueue and one per system on the platform MBeanServer,
 * with open types only, so any JMX client (JConsole, JMC, {@code cmwq monitor}) reads them
 * without cmwq's classes.
 *
 * <h2>Names</h2>
 * {@code dev.cmwq:type=Workqueue,name=<workqueue>} for the default system's workqueues and
 * {@code dev.cmwq:type=Workqueue,system=<system>,name=<workqueue>} for other systems';
 * {@code dev.cmwq:type=WorkqueueSystem,name=<system>} for the system itself. A name already
 * taken (two workqueues of one name, two systems of one name) gets {@code ,instance=<n>}.
 * Values that need it are quoted ({@link ObjectName#quote}).
 *
 * <h2>Attributes</h2>
 * Every workqueue: {@code name}, {@code flags}, {@code per_cpu}, {@code max_active} and its
 * {@link WorkqueueStats} ({@code started}, {@code completed}, {@code cpuTimeNanos},
 * {@code cpuIntensive}, {@code cmWakeups}, {@code repatriated}, {@code mayday},
 * {@code rescued}, {@code failed}); unbound ones also {@code nice}, {@code cpumask},
 * {@code affinity_scope}, {@code affinity_strict}. For {@link WqFlag#SYSFS} workqueues the
 * kernel's writable sysfs files are writable here with the kernel's validation: a bad value is
 * an {@link InvalidAttributeValueException} and changes nothing. The system: {@code name},
 * {@code cpus}, {@code topology}, {@code unbound_cpumask} (writable), {@code freezing},
 * {@code workqueues}, {@code pools}, and the operations {@code dump} and {@code wqDump}.
 */
final class Jmx {
  static final String DOMAIN = "dev.cmwq";
  /** The name of {@link WorkqueueSystem#getDefault()}, whose beans carry no system key. */
  static final String DEFAULT_SYSTEM = "default";

  private Jmx() {}

  // ---- registration -------------------------------------------------------------------------

  /** Registers the system's bean; returns its name, or null when JMX is unavailable. */
  static ObjectName registerSystem(WorkqueueSystem sys) {
    return register(new SystemBean(sys), "type=WorkqueueSystem,name=" + value(sys.name()));
  }

  /** Registers a workqueue's bean; returns its name, or null when JMX is unavailable. */
  static ObjectName registerWorkqueue(Workqueue wq) {
    String sys = wq.system.name();
    String props = "type=Workqueue"
        + (sys.equals(DEFAULT_SYSTEM) ? "" : ",system=" + value(sys))
        + ",name=" + value(wq.name());
    return register(new WorkqueueBean(wq), props);
  }

  static void unregister(ObjectName name) {
    if (name == null) {
      return;
    }
    try {
      ManagementFactory.getPlatformMBeanServer().unregisterMBean(name);
    } catch (InstanceNotFoundException e) {
      // already gone (someone unregistered it by hand)
    } catch (JMException | RuntimeException e) {
      Warn.always("workqueue: cannot unregister MBean " + name, e);
    }
  }

  private static ObjectName register(DynamicMBean bean, String props) {
    MBeanServer server;
    try {
      server = ManagementFactory.getPlatformMBeanServer();
    } catch (RuntimeException | LinkageError e) {
      Warn.once("jmx-unavailable", "workqueue: no platform MBeanServer; JMX beans are off ("
          + e + ")");
      return null;
    }
    for (int instance = 1; ; instance++) {
      try {
        ObjectName name = new ObjectName(DOMAIN + ":" + props
            + (instance == 1 ? "" : ",instance=" + instance));
        return server.registerMBean(bean, name).getObjectName();
      } catch (InstanceAlreadyExistsException e) {
        // taken: try the next instance number
      } catch (JMException | RuntimeException e) {
        Warn.always("workqueue: cannot register MBean " + props, e);
        return null;
      }
    }
  }

  /** An ObjectName value: as is when legal, else quoted. */
  static String value(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == ',' || c == '=' || c == ':' || c == '"' || c == '*' || c == '?' || c == '\n'
          || c == '\\') {
        return ObjectName.quote(s);
      }
    }
    return s.isEmpty() ? ObjectName.quote(s) : s;
  }

  // ---- common plumbing ----------------------------------------------------------------------

  /** A read-only or writable attribute of open type. */
  private static OpenMBeanAttributeInfoSupport attr(String name, OpenType<?> type,
      String description, boolean writable) {
    return new OpenMBeanAttributeInfoSupport(name, description, type, true, writable, false);
  }

  /** getAttributes as JMX wants it: every readable one, silently skipping the rest. */
  private static AttributeList readAll(DynamicMBean bean, String[] names) {
    AttributeList list = new AttributeList();
    for (String n : names) {
      try {
        list.add(new Attribute(n, bean.getAttribute(n)));
      } catch (JMException | RuntimeException e) {
        // skipped, as the JMX contract says
      }
    }
    return list;
  }

  private static AttributeList writeAll(DynamicMBean bean, AttributeList attributes) {
    AttributeList done = new AttributeList();
    for (Iterator<Object> it = attributes.iterator(); it.hasNext(); ) {
      Attribute a = (Attribute) it.next();
      try {
        bean.setAttribute(a);
        done.add(new Attribute(a.getName(), bean.getAttribute(a.getName())));
      } catch (JMException | RuntimeException e) {
        // skipped, as the JMX contract says
      }
    }
    return done;
  }

  private static <T> T typed(Attribute a, Class<T> type, String expected)
      throws InvalidAttributeValueException {
    Object v = a.getValue();
    if (!type.isInstance(v)) {
      throw new InvalidAttributeValueException(a.getName() + ": " + v + " (expected: "
          + expected + ")");
    }
    return type.cast(v);
  }

  // ---- workqueue ----------------------------------------------------------------------------

  /** The MBean of one workqueue: its sysfs directory plus its statistics. */
  static final class WorkqueueBean implements DynamicMBean {
    /** The {@link WorkqueueStats} components, by attribute name, in record order. */
    private static final Map<String, ToLongFunction<WorkqueueStats>> STATS = new LinkedHashMap<>();

    static {
      STATS.put("started", WorkqueueStats::started);
      STATS.put("completed", WorkqueueStats::completed);
      STATS.put("cpuTimeNanos", WorkqueueStats::cpuTimeNanos);
      STATS.put("cpuIntensive", WorkqueueStats::cpuIntensive);
      STATS.put("cmWakeups", WorkqueueStats::cmWakeups);
      STATS.put("repatriated", WorkqueueStats::repatriated);
      STATS.put("mayday", WorkqueueStats::mayday);
      STATS.put("rescued", WorkqueueStats::rescued);
      STATS.put("failed", WorkqueueStats::failed);
    }
    private static final String[] SCOPES = {"default", "cpu", "smt", "cache", "numa", "system"};

    /** I: the workqueue. */
    private final Workqueue wq;
    /** I: writable (WQ_SYSFS). */
    private final boolean sysfs;
    /** I: has the unbound attributes. */
    private final boolean unbound;
    /** I: built once; a workqueue's flags never change. */
    private final MBeanInfo info;

    WorkqueueBean(Workqueue wq) {
      this.wq = wq;
      this.sysfs = (wq.flags & Workqueue.WQ_SYSFS) != 0;
      this.unbound = (wq.flags & Workqueue.WQ_UNBOUND) != 0;
      List<OpenMBeanAttributeInfoSupport> attrs = new ArrayList<>();
      attrs.add(attr("name", SimpleType.STRING, "The workqueue's name", false));
      attrs.add(attr("flags", stringArray(), "WqFlag names", false));
      attrs.add(attr("per_cpu", SimpleType.BOOLEAN, "Per-CPU (bound) workqueue", false));
      attrs.add(attr("max_active", SimpleType.INTEGER,
          "Items that may run at once per pwq (unbound: per node, split); 1..512",
          sysfs && !wq.isOrdered()));
      if (unbound) {
        attrs.add(attr("nice", SimpleType.INTEGER, "Worker nice level, -20..19", sysfs));
        attrs.add(attr("cpumask", SimpleType.STRING,
            "CPUs the workers may use, hex as in sysfs (e.g. ff,ffffffff)", sysfs));
        attrs.add(attr("affinity_scope", SimpleType.STRING,
            "default, cpu, smt, cache, numa or system", sysfs));
        attrs.add(attr("affinity_strict", SimpleType.BOOLEAN,
            "Workers stay inside their pod", sysfs));
      }
      for (String s : STATS.keySet()) {
        attrs.add(attr(s, SimpleType.LONG, "Statistic " + s + " (WorkqueueStats)", false));
      }
      this.info = new OpenMBeanInfoSupport(WorkqueueBean.class.getName(),
          "Workqueue " + wq.name() + (sysfs ? " (SYSFS: tunable)" : ""),
          attrs.toArray(new OpenMBeanAttributeInfoSupport[0]), null, null, null);
    }

    @Override
    public Object getAttribute(String attribute) throws AttributeNotFoundException {
      switch (attribute) {
        case "name":
          return wq.name();
        case "flags":
          return wq.flags().stream().map(Enum::name).toArray(String[]::new);
        case "per_cpu":
          return !unbound;
        case "max_active":
          return wq.maxActive();
        default:
          break;
      }
      if (unbound) {
        WorkqueueAttrs a = wq.attrs();
        switch (attribute) {
          case "nice":
            return a.nice();
          case "cpumask":
            return a.cpumask().toHex();
          case "affinity_scope":
            return a.affinityScope() == AffinityScope.DEFAULT
                ? "default (" + AffinityScope.DEFAULT_RESOLVED.name().toLowerCase(Locale.ROOT)
                    + ")"
                : a.affinityScope().name().toLowerCase(Locale.ROOT);
          case "affinity_strict":
            return a.affinityStrict();
          default:
            break;
        }
      }
      return stat(wq.stats(), attribute);
    }

    private static long stat(WorkqueueStats s, String attribute) throws AttributeNotFoundException {
      ToLongFunction<WorkqueueStats> f = STATS.get(attribute);
      if (f == null) {
        throw new AttributeNotFoundException(attribute);
      }
      return f.applyAsLong(s);
    }

    @Override
    public void setAttribute(Attribute attribute) throws AttributeNotFoundException,
        InvalidAttributeValueException, MBeanException {
      String n = attribute.getName();
      boolean knob = n.equals("max_active") || (unbound && (n.equals("nice")
          || n.equals("cpumask") || n.equals("affinity_scope") || n.equals("affinity_strict")));
      if (!knob) {
        getAttribute(n); // unknown names: AttributeNotFoundException
        throw new AttributeNotFoundException(n + " is read-only");
      }
      if (!sysfs) {
        throw new AttributeNotFoundException(n + " is read-only: workqueue " + wq.name()
            + " was not created with WqFlag.SYSFS");
      }
      try {
        switch (n) {
          case "max_active": {
            int v = typed(attribute, Integer.class, "an integer, 1..512");
            if (v <= 0) { // sysfs refuses what setMaxActive would treat as "default"
              throw new InvalidAttributeValueException("max_active: " + v
                  + " (expected: 1..512)");
            }
            wq.setMaxActive(v);
            break;
          }
          case "nice": {
            int v = typed(attribute, Integer.class, "an integer, -20..19");
            if (v < -20 || v > 19) {
              throw new InvalidAttributeValueException("nice: " + v + " (expected: -20..19)");
            }
            wq.applyAttrs(wq.attrs().withNice(v));
            break;
          }
          case "cpumask": {
            String text = typed(attribute, String.class, "a hex cpumask such as ff,ffffffff");
            wq.applyAttrs(wq.attrs().withCpumask(CpuMask.parseHex(text)));
            break;
          }
          case "affinity_scope": {
            String text = typed(attribute, String.class, String.join(", ", SCOPES)).strip();
            AffinityScope scope = null;
            for (String s : SCOPES) {
              if (s.equals(text)) {
                scope = AffinityScope.valueOf(s.toUpperCase(Locale.ROOT));
              }
            }
            if (scope == null) {
              throw new InvalidAttributeValueException("affinity_scope: \"" + text
                  + "\" (expected: one of " + String.join(", ", SCOPES) + ")");
            }
            wq.applyAttrs(wq.attrs().withAffinityScope(scope));
            break;
          }
          default: { // affinity_strict
            boolean v = typed(attribute, Boolean.class, "true or false");
            wq.applyAttrs(wq.attrs().withAffinityStrict(v));
            break;
          }
        }
      } catch (IllegalArgumentException e) {
        throw new InvalidAttributeValueException(e.getMessage());
      } catch (IllegalStateException e) {
        throw new MBeanException(new IllegalStateException(e.getMessage()), e.getMessage());
      }
    }

    /** Reads the statistics once, so that the values returned together are consistent. */
    @Override
    public AttributeList getAttributes(String[] attributes) {
      WorkqueueStats stats = null;
      AttributeList list = new AttributeList();
      for (String n : attributes) {
        try {
          if (STATS.containsKey(n)) {
            if (stats == null) {
              stats = wq.stats();
            }
            list.add(new Attribute(n, stat(stats, n)));
          } else {
            list.add(new Attribute(n, getAttribute(n)));
          }
        } catch (JMException | RuntimeException e) {
          // skipped, as the JMX contract says
        }
      }
      return list;
    }

    @Override
    public AttributeList setAttributes(AttributeList attributes) {
      return writeAll(this, attributes);
    }

    @Override
    public Object invoke(String actionName, Object[] params, String[] signature)
        throws ReflectionException {
      throw new ReflectionException(new NoSuchMethodException(actionName),
          "workqueue MBeans have no operations");
    }

    @Override
    public MBeanInfo getMBeanInfo() {
      return info;
    }
  }

  private static ArrayType<String[]> stringArray() {
    try {
      return ArrayType.getArrayType(SimpleType.STRING);
    } catch (OpenDataException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- system -------------------------------------------------------------------------------

  /** The MBean of a {@link WorkqueueSystem}: globals, pools, and the two dumps. */
  static final class SystemBean implements DynamicMBean {
    static final String[] POOL_ITEMS = {"id", "cpu", "node", "nice", "cpus", "strict",
        "workers", "idle"};
    static final CompositeType POOL;
    static final ArrayType<CompositeData[]> POOLS;

    static {
      try {
        POOL = new CompositeType("WorkerPool", "A worker pool", POOL_ITEMS,
            new String[] {"pool id", "CPU of a per-CPU pool, -1 for unbound", "NUMA node or -1",
                "nice level of its workers", "CPUs its workers may use (list format)",
                "unbound pool confined to its pod", "worker threads", "idle workers"},
            new OpenType<?>[] {SimpleType.INTEGER, SimpleType.INTEGER, SimpleType.INTEGER,
                SimpleType.INTEGER, SimpleType.STRING, SimpleType.BOOLEAN, SimpleType.INTEGER,
                SimpleType.INTEGER});
        POOLS = ArrayType.getArrayType(POOL);
      } catch (OpenDataException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    /** I: the system. */
    private final WorkqueueSystem sys;
    /** I: built once. */
    private final MBeanInfo info;

    SystemBean(WorkqueueSystem sys) {
      this.sys = sys;
      OpenMBeanAttributeInfoSupport[] attrs = {
          attr("name", SimpleType.STRING, "The system's name", false),
          attr("cpus", SimpleType.INTEGER, "Logical CPUs (one per-CPU pool pair each)", false),
          attr("topology", SimpleType.STRING, "CPUs, cores, caches and nodes", false),
          attr("unbound_cpumask", SimpleType.STRING,
              "CPUs unbound workqueues may use, hex as in sysfs", true),
          attr("freezing", SimpleType.BOOLEAN, "Between freezeBegin and thaw", false),
          attr("workqueues", stringArray(), "Live workqueues, in creation order", false),
          attr("pools", POOLS, "Worker pools", false)};
      OpenMBeanOperationInfoSupport[] ops = {
          new OpenMBeanOperationInfoSupport("dump", "show_all_workqueues: busy workqueues and"
              + " pools", new OpenMBeanParameterInfo[0], SimpleType.STRING,
              MBeanOperationInfo.INFO),
          new OpenMBeanOperationInfoSupport("wqDump", "wq_dump.py: scopes, pods, pools, and the"
              + " pool of every CPU of every workqueue", new OpenMBeanParameterInfo[0],
              SimpleType.STRING, MBeanOperationInfo.INFO)};
      this.info = new OpenMBeanInfoSupport(SystemBean.class.getName(),
          "Workqueue system " + sys.name(), attrs, null, ops, null);
    }

    @Override
    public Object getAttribute(String attribute) throws AttributeNotFoundException {
      switch (attribute) {
        case "name":
          return sys.name();
        case "cpus":
          return sys.cpus();
        case "topology":
          return sys.topology().toString();
        case "unbound_cpumask":
          return sys.unboundCpumask().toHex();
        case "freezing":
          return sys.isFreezing();
        case "workqueues":
          return sys.workqueues().stream().map(Workqueue::name).toArray(String[]::new);
        case "pools":
          return pools();
        default:
          throw new AttributeNotFoundException(attribute);
      }
    }

    private CompositeData[] pools() {
      List<CompositeData> out = new ArrayList<>();
      for (WorkerPool pool : sys.poolsById()) {
        Object[] values;
        pool.lock.lock();
        try {
          values = new Object[] {pool.id, pool.cpu, pool.node, pool.attrs.nice(),
              pool.attrs.cpumask().toList(), pool.attrs.strict(), pool.nrWorkers, pool.nrIdle};
        } finally {
          pool.lock.unlock();
        }
        try {
          out.add(new CompositeDataSupport(POOL, POOL_ITEMS, values));
        } catch (OpenDataException e) {
          throw new IllegalStateException(e);
        }
      }
      return out.toArray(new CompositeData[0]);
    }

    @Override
    public void setAttribute(Attribute attribute) throws AttributeNotFoundException,
        InvalidAttributeValueException, MBeanException {
      if (!attribute.getName().equals("unbound_cpumask")) {
        getAttribute(attribute.getName());
        throw new AttributeNotFoundException(attribute.getName() + " is read-only");
      }
      String text = typed(attribute, String.class, "a hex cpumask such as ff,ffffffff");
      try {
        sys.setUnboundCpumask(CpuMask.parseHex(text));
      } catch (IllegalArgumentException e) {
        throw new InvalidAttributeValueException(e.getMessage());
      } catch (IllegalStateException e) {
        throw new MBeanException(new IllegalStateException(e.getMessage()), e.getMessage());
      }
    }

    @Override
    public AttributeList getAttributes(String[] attributes) {
      return readAll(this, attributes);
    }

    @Override
    public AttributeList setAttributes(AttributeList attributes) {
      return writeAll(this, attributes);
    }

    @Override
    public Object invoke(String actionName, Object[] params, String[] signature)
        throws ReflectionException {
      if ((params == null || params.length == 0) && actionName.equals("dump")) {
        return sys.dump();
      }
      if ((params == null || params.length == 0) && actionName.equals("wqDump")) {
        return sys.wqDump();
      }
      throw new ReflectionException(new NoSuchMethodException(actionName),
          "no operation " + actionName);
    }

    @Override
    public MBeanInfo getMBeanInfo() {
      return info;
    }
  }
}
