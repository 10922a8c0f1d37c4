package dev.cmwq.micrometer;

import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueStats;
import dev.cmwq.WorkqueueSystem;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * Micrometer metrics for every workqueue of a {@link WorkqueueSystem}: the kernel's
 * {@code PWQ_STAT_*} counters (what {@code wq_monitor.py} shows) plus failures, as function
 * counters, and in-flight items and max_active as gauges. Workqueues created after binding get
 * their meters when created; a destroyed workqueue's meters are removed.
 *
 * <table>
 *   <caption>Meters (tags: {@code system}, {@code workqueue}, plus the binder's own)</caption>
 *   <tr><th>name</th><th>type</th><th>kernel</th></tr>
 *   <tr><td>{@code cmwq.workqueue.started}</td><td>counter</td><td>PWQ_STAT_STARTED</td></tr>
 *   <tr><td>{@code cmwq.workqueue.completed}</td><td>counter</td><td>PWQ_STAT_COMPLETED</td></tr>
 *   <tr><td>{@code cmwq.workqueue.failed}</td><td>counter</td><td>(cmwq: functions that threw)</td></tr>
 *   <tr><td>{@code cmwq.workqueue.cpu.time}</td><td>counter, nanoseconds</td><td>PWQ_STAT_CPU_TIME</td></tr>
 *   <tr><td>{@code cmwq.workqueue.cpu.intensive}</td><td>counter</td><td>PWQ_STAT_CPU_INTENSIVE</td></tr>
 *   <tr><td>{@code cmwq.workqueue.cm.wakeups}</td><td>counter</td><td>PWQ_STAT_CM_WAKEUP</td></tr>
 *   <tr><td>{@code cmwq.workqueue.repatriated}</td><td>counter</td><td>PWQ_STAT_REPATRIATED</td></tr>
 *   <tr><td>{@code cmwq.workqueue.mayday}</td><td>counter</td><td>PWQ_STAT_MAYDAY</td></tr>
 *   <tr><td>{@code cmwq.workqueue.rescued}</td><td>counter</td><td>PWQ_STAT_RESCUED</td></tr>
 *   <tr><td>{@code cmwq.workqueue.in.flight}</td><td>gauge</td><td>started − completed</td></tr>
 *   <tr><td>{@code cmwq.workqueue.max.active}</td><td>gauge</td><td>max_active</td></tr>
 *   <tr><td>{@code cmwq.workqueues}</td><td>gauge (tag {@code system})</td><td>live workqueues</td></tr>
 * </table>
 *
 * <p>One scrape reads each workqueue's statistics once: the counters of a workqueue share a
 * snapshot that is reused for {@value #SNAPSHOT_MILLIS} ms.
 */
public final class WorkqueueMetrics implements MeterBinder, AutoCloseable {
  /** How long one statistics snapshot serves the meters of a workqueue. */
  static final long SNAPSHOT_MILLIS = 100;

  private final WorkqueueSystem system;
  private final Tags tags;
  /** Registries bound so far, with the meters of each workqueue in each. */
  private final List<Binding> bindings = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final WorkqueueSystem.WorkqueueListener listener = new WorkqueueSystem.WorkqueueListener() {
    @Override
    public void created(Workqueue wq) {
      for (Binding b : bindings) {
        b.add(wq);
      }
    }

    @Override
    public void destroyed(Workqueue wq) {
      for (Binding b : bindings) {
        b.remove(wq);
      }
    }
  };

  /** Metrics of every workqueue of {@code system}, tagged {@code system=<name>}. */
  public WorkqueueMetrics(WorkqueueSystem system) {
    this(system, Tags.empty());
  }

  /** As {@link #WorkqueueMetrics(WorkqueueSystem)}, with extra tags on every meter. */
  public WorkqueueMetrics(WorkqueueSystem system, Iterable<Tag> tags) {
    if (system == null) {
      throw new NullPointerException("system");
    }
    if (tags == null) {
      throw new NullPointerException("tags");
    }
    this.system = system;
    this.tags = Tags.concat(tags, "system", system.name());
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    if (registry == null) {
      throw new NullPointerException("registry");
    }
    Binding b = new Binding(registry);
    if (bindings.isEmpty()) {
      system.addWorkqueueListener(listener);
    }
    bindings.add(b);
    Gauge.builder("cmwq.workqueues", system, s -> s.workqueues().size())
        .description("Live workqueues").tags(tags).register(registry);
    for (Workqueue wq : system.workqueues()) {
      b.add(wq);
    }
    // A workqueue destroyed between the snapshot above and its binding: drop its meters.
    for (Workqueue wq : b.bound()) {
      if (!system.workqueues().contains(wq)) {
        b.remove(wq);
      }
    }
  }

  /** Stops following the system's workqueues; meters already registered stay. */
  @Override
  public void close() {
    system.removeWorkqueueListener(listener);
    bindings.clear();
  }

  /** The meters of one registry. */
  private final class Binding {
    final MeterRegistry registry;
    /** The meters of each workqueue; the value also keeps the snapshot strongly reachable
     * (Micrometer holds a function counter's object weakly). */
    final Map<Workqueue, Bound> meters = new ConcurrentHashMap<>();

    Binding(MeterRegistry registry) {
      this.registry = registry;
    }

    List<Workqueue> bound() {
      return new ArrayList<>(meters.keySet());
    }

    synchronized void add(Workqueue wq) {
      List<Meter> list = new ArrayList<>();
      Snapshot snap = new Snapshot(wq);
      if (meters.putIfAbsent(wq, new Bound(list, snap)) != null) {
        return; // bound already (created while bindTo was scanning)
      }
      Tags t = tags.and("workqueue", wq.name());
      list.add(counter("started", "Items started", snap, WorkqueueStats::started, t, null));
      list.add(counter("completed", "Items completed", snap, WorkqueueStats::completed, t, null));
      list.add(counter("failed", "Items whose function threw", snap, WorkqueueStats::failed, t,
          null));
      list.add(counter("cpu.time", "CPU time of the items", snap, WorkqueueStats::cpuTimeNanos,
          t, "nanoseconds"));
      list.add(counter("cpu.intensive", "Items marked CPU intensive", snap,
          WorkqueueStats::cpuIntensive, t, null));
      list.add(counter("cm.wakeups", "Concurrency-management wake-ups", snap,
          WorkqueueStats::cmWakeups, t, null));
      list.add(counter("repatriated", "Idle workers moved back into their pod", snap,
          WorkqueueStats::repatriated, t, null));
      list.add(counter("mayday", "Mayday requests to the rescuer", snap, WorkqueueStats::mayday,
          t, null));
      list.add(counter("rescued", "Items run by the rescuer", snap, WorkqueueStats::rescued, t,
          null));
      list.add(Gauge.builder("cmwq.workqueue.in.flight", snap,
              s -> s.get().started() - s.get().completed())
          .description("Items started and not yet completed").tags(t).register(registry));
      list.add(Gauge.builder("cmwq.workqueue.max.active", wq, Workqueue::maxActive)
          .description("max_active of the workqueue").tags(t).register(registry));
    }

    synchronized void remove(Workqueue wq) {
      Bound bound = meters.remove(wq);
      if (bound != null) {
        for (Meter m : bound.meters()) {
          registry.remove(m);
        }
      }
    }

    private Meter counter(String name, String description, Snapshot snap,
        ToDoubleFunction<WorkqueueStats> value, Tags t, String unit) {
      FunctionCounter.Builder<Snapshot> b = FunctionCounter.builder("cmwq.workqueue." + name,
          snap, s -> value.applyAsDouble(s.get())).description(description).tags(t);
      if (unit != null) {
        b.baseUnit(unit);
      }
      return b.register(registry);
    }
  }

  private record Bound(List<Meter> meters, Snapshot snapshot) {}

  /** A workqueue's statistics, re-read at most every {@link #SNAPSHOT_MILLIS}. */
  private static final class Snapshot {
    private final Workqueue wq;
    private WorkqueueStats stats;
    private long readAt;

    Snapshot(Workqueue wq) {
      this.wq = wq;
    }

    synchronized WorkqueueStats get() {
      long now = System.nanoTime();
      if (stats == null || now - readAt > SNAPSHOT_MILLIS * 1_000_000L) {
        stats = wq.stats();
        readAt = now;
      }
      return stats;
    }
  }
}
