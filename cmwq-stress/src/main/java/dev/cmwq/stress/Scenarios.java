package dev.cmwq.stress;

import dev.cmwq.AffinityScope;
import dev.cmwq.CpuMask;
import dev.cmwq.DelayedWork;
import dev.cmwq.StressAccess;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueAttrs;
import dev.cmwq.WorkqueueSystem;
import dev.cmwq.Workqueues;
import dev.cmwq.kthread.KthreadDelayedWork;
import dev.cmwq.kthread.KthreadWork;
import dev.cmwq.kthread.KthreadWorker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The storms. Each builds its own system, drives it from {@link Run#threads} threads until the
 * deadline, then quiesces it and checks:
 * <ul>
 *   <li>exactly-once accounting per item: every transition to pending (a queue call that
 *       returned true, a {@code modDelayedWork} of an idle item) ends in exactly one run or one
 *       successful steal (a cancel or disable that returned true);</li>
 *   <li>the engine's quiescent invariants ({@code Invariants}), and that no pwq was released
 *       off {@code pool_workqueue_release} or under a pool lock;</li>
 *   <li>scenario specifics (order on ordered workqueues, forward progress).</li>
 * </ul>
 */
final class Scenarios {
  private Scenarios() {}

  /** One scenario. */
  interface Scenario {
    String name();

    void run(Run run) throws Exception;
  }

  /** The shared state of one scenario run: deadline, counters, problems. */
  static final class Run {
    final long end;
    final int threads;
    final LongAdder pendings = new LongAdder();
    final LongAdder runs = new LongAdder();
    final LongAdder steals = new LongAdder();
    final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
    volatile WorkqueueSystem system;
    volatile boolean finished;
    volatile String summary = "";

    Run(long end, int threads) {
      this.end = end;
      this.threads = threads;
    }

    boolean running() {
      return System.nanoTime() < end;
    }

    void problem(String p) {
      if (problems.size() < 50) {
        problems.add(p);
      }
    }

    String counters() {
      return String.format(Locale.ROOT, "pending→ %,d  ran %,d  stolen %,d", pendings.sum(),
          runs.sum(), steals.sum());
    }

    /** Runs {@code body} on {@link #threads} threads until the deadline; joins them. */
    void drive(String name, Driver body) throws InterruptedException {
      List<Thread> ts = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        int id = i;
        Thread t = new Thread(() -> {
          ThreadLocalRandom rnd = ThreadLocalRandom.current();
          try {
            while (running()) {
              body.step(id, rnd);
            }
          } catch (Throwable e) {
            problem(name + " driver " + id + " threw " + e);
            e.printStackTrace();
          }
        }, "stress-" + name + "-" + i);
        ts.add(t);
        t.start();
      }
      for (Thread t : ts) {
        t.join();
      }
    }

    /** The end-of-run checks shared by every scenario on a workqueue system. */
    void checkAndClose(WorkqueueSystem sys) {
      List<String> v = StressAccess.invariantViolations(sys, Duration.ofSeconds(60));
      for (String s : v) {
        problem("invariant: " + s);
      }
      sys.close();
      if (StressAccess.badReleases(sys) != 0) {
        problem("pwq releases off pool_workqueue_release or under a pool lock: "
            + StressAccess.badReleases(sys));
      }
    }
  }

  /** One step of a driver thread. */
  interface Driver {
    void step(int thread, ThreadLocalRandom rnd) throws Exception;
  }

  // ---- accounted items --------------------------------------------------------------------

  /** Per-item accounting, shared by the item kinds. */
  static final class Account {
    final AtomicLong pendings = new AtomicLong();
    final AtomicLong runs = new AtomicLong();
    final AtomicLong steals = new AtomicLong();

    void pending(Run run, boolean became) {
      if (became) {
        pendings.incrementAndGet();
        run.pendings.increment();
      }
    }

    void stolen(Run run, boolean stolen) {
      if (stolen) {
        steals.incrementAndGet();
        run.steals.increment();
      }
    }

    void ran(Run run) {
      runs.incrementAndGet();
      run.runs.increment();
    }

    /** Every pending transition ended in one run or one steal. */
    void check(Run run, String what) {
      long p = pendings.get();
      long r = runs.get();
      long s = steals.get();
      if (p != r + s) {
        run.problem(String.format(Locale.ROOT, "%s: %d times pending, %d runs + %d steals (%s)",
            what, p, r, s, p > r + s ? "lost" : "ran twice"));
      }
    }
  }

  /** A work item that counts its runs and does a little work. */
  static class Counted extends Work {
    final Run run;
    final Workqueue wq;
    final Account account = new Account();

    Counted(Run run, Workqueue wq) {
      super(w -> ((Counted) w).fire());
      this.run = run;
      this.wq = wq;
    }

    void fire() {
      account.ran(run);
      ThreadLocalRandom rnd = ThreadLocalRandom.current();
      int kind = rnd.nextInt(100);
      if (kind < 3) {
        sleepManaged(1); // CM sees the block
      } else if (kind < 5) {
        sleepPlain(1); // the tick notices
      } else {
        spin(rnd.nextInt(20_000));
      }
      if (kind >= 95 && run.running()) {
        account.pending(run, wq.queueWork(this)); // requeue from its own function
      }
    }
  }

  static void spin(long nanos) {
    long end = System.nanoTime() + nanos;
    while (System.nanoTime() < end) {
      Thread.onSpinWait();
    }
  }

  static void sleepPlain(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static void sleepManaged(long millis) {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    try {
      Workqueues.managedBlock(new ForkJoinPool.ManagedBlocker() {
        @Override
        public boolean block() throws InterruptedException {
          long left = deadline - System.nanoTime();
          if (left > 0) {
            Thread.sleep(left / 1_000_000L, (int) (left % 1_000_000L));
          }
          return true;
        }

        @Override
        public boolean isReleasable() {
          return System.nanoTime() >= deadline;
        }
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits until none of {@code items} is pending or running (items may requeue themselves). */
  static void quiesce(List<? extends Work> items) {
    for (int round = 0; round < 100; round++) {
      boolean busy = false;
      for (Work w : items) {
        w.flush();
        busy |= w.busy() != 0;
      }
      if (!busy) {
        return;
      }
    }
  }

  // ---- queue / cancel / flush -------------------------------------------------------------

  /** Random queue, queueOn, cancel, cancelSync, disable/enable and flushes on four kinds of workqueue. */
  static final class QueueCancelFlush implements Scenario {
    @Override
    public String name() {
      return "queue-cancel";
    }

    @Override
    public void run(Run run) throws Exception {
      WorkqueueSystem sys = WorkqueueSystem.builder().name("stress-queue").jmx(false).build();
      run.system = sys;
      List<Workqueue> wqs = List.of(sys.workqueue("s_percpu").build(),
          sys.workqueue("s_unbound").unbound().maxActive(4).build(),
          sys.workqueue("s_ordered").ordered().build(),
          sys.workqueue("s_highpri").highPri().maxActive(2).build());
      List<Counted> items = new ArrayList<>();
      for (int i = 0; i < 512; i++) {
        items.add(new Counted(run, wqs.get(i % wqs.size())));
      }
      int cpus = sys.cpus();
      run.drive("queue", (t, rnd) -> {
        Counted c = items.get(rnd.nextInt(items.size()));
        int op = rnd.nextInt(100);
        if (op < 40) {
          c.account.pending(run, c.wq.queueWork(c));
        } else if (op < 55) {
          c.account.pending(run, c.wq.queueWorkOn(rnd.nextInt(cpus), c));
        } else if (op < 70) {
          c.account.stolen(run, c.cancel());
        } else if (op < 74) {
          c.account.stolen(run, c.cancelSync());
        } else if (op < 78) {
          c.flush();
        } else if (op < 82) {
          c.account.stolen(run, c.disable());
          c.enable();
        } else if (op < 83) {
          c.wq.flush();
        } else {
          c.busy();
          c.isPending();
        }
      });
      quiesce(items);
      for (int i = 0; i < items.size(); i++) {
        items.get(i).account.check(run, "item " + i + " on " + items.get(i).wq.name());
      }
      run.summary = "4 workqueues, 512 items";
      run.checkAndClose(sys);
    }
  }

  // ---- attributes and cpumask ------------------------------------------------------------

  /** applyAttrs and setUnboundCpumask storms while items flow, with order kept on ordered queues. */
  static final class AttrsAndCpumask implements Scenario {
    @Override
    public String name() {
      return "attrs";
    }

    @Override
    public void run(Run run) throws Exception {
      WorkqueueSystem sys = WorkqueueSystem.builder().name("stress-attrs").jmx(false).build();
      run.system = sys;
      List<Workqueue> unbound = List.of(sys.workqueue("s_u1").unbound().build(),
          sys.workqueue("s_u2").unbound().maxActive(2).build());
      Workqueue ordered = sys.workqueue("s_ord").ordered().build();
      List<Counted> items = new ArrayList<>();
      for (int i = 0; i < 256; i++) {
        items.add(new Counted(run, unbound.get(i % 2)));
      }
      AtomicLong nextSeq = new AtomicLong();
      AtomicLong expected = new AtomicLong();
      LongAdder ordersBroken = new LongAdder();
      LongAdder applies = new LongAdder();
      Object orderLock = new Object();
      AffinityScope[] scopes = {AffinityScope.CPU, AffinityScope.CACHE, AffinityScope.SYSTEM};
      CpuMask all = sys.unboundCpumask();
      CpuMask first = CpuMask.of(all.first());
      run.drive("attrs", (t, rnd) -> {
        if (t == 0) { // the administrator
          if (rnd.nextInt(8) == 0) {
            sys.setUnboundCpumask(rnd.nextBoolean() ? all : first);
          } else {
            unbound.get(rnd.nextInt(2)).applyAttrs(WorkqueueAttrs.defaults()
                .withNice(rnd.nextInt(3)).withAffinityScope(scopes[rnd.nextInt(3)])
                .withAffinityStrict(rnd.nextBoolean()));
          }
          applies.increment();
          sleepPlain(1);
          return;
        }
        Counted c = items.get(rnd.nextInt(items.size()));
        int op = rnd.nextInt(100);
        if (op < 60) {
          c.account.pending(run, c.wq.queueWork(c));
        } else if (op < 75) {
          c.account.stolen(run, c.cancel());
        } else {
          synchronized (orderLock) { // sequence numbers in queueing order
            long seq = nextSeq.getAndIncrement();
            run.pendings.increment();
            ordered.queueWork(new Work(() -> {
              if (expected.getAndIncrement() != seq) {
                ordersBroken.increment();
              }
              run.runs.increment();
            }));
          }
        }
      });
      quiesce(items);
      ordered.flush();
      for (int i = 0; i < items.size(); i++) {
        items.get(i).account.check(run, "item " + i);
      }
      if (expected.get() != nextSeq.get()) {
        run.problem("ordered: " + nextSeq.get() + " queued, " + expected.get() + " ran");
      }
      if (ordersBroken.sum() != 0) {
        run.problem("ordered: " + ordersBroken.sum() + " items out of order");
      }
      run.summary = applies.sum() + " attribute/cpumask changes, " + nextSeq.get()
          + " ordered items in order";
      run.checkAndClose(sys);
    }
  }

  // ---- create / destroy -------------------------------------------------------------------

  /** Workqueues of every kind created, loaded and destroyed in a loop. */
  static final class CreateDestroy implements Scenario {
    @Override
    public String name() {
      return "destroy";
    }

    @Override
    public void run(Run run) throws Exception {
      WorkqueueSystem sys = WorkqueueSystem.builder().name("stress-destroy").jmx(false).build();
      run.system = sys;
      int baselinePools = StressAccess.pools(sys).pools();
      LongAdder created = new LongAdder();
      AtomicInteger serial = new AtomicInteger();
      run.drive("destroy", (t, rnd) -> {
        String name = "s_tmp" + serial.incrementAndGet();
        Workqueue.Builder b = sys.workqueue(name);
        switch (rnd.nextInt(4)) {
          case 0 -> b.unbound();
          case 1 -> b.ordered();
          case 2 -> b.unbound().memReclaim();
          default -> b.maxActive(1 + rnd.nextInt(4));
        }
        Workqueue wq = b.build();
        created.increment();
        List<Counted> items = new ArrayList<>();
        for (int i = 0; i < 1 + rnd.nextInt(32); i++) {
          Counted c = new Counted(run, wq);
          items.add(c);
          c.account.pending(run, wq.queueWork(c));
        }
        wq.destroy(); // drains: every queued item (and its self-requeues) runs first
        for (Counted c : items) {
          c.account.check(run, name);
          if (c.isPending()) {
            run.problem(name + ": an item is still pending after destroy");
          }
        }
      });
      // Unbound pools of destroyed workqueues go away (through pool_workqueue_release).
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (StressAccess.pools(sys).pools() > baselinePools && System.nanoTime() < deadline) {
        sleepPlain(10);
      }
      int left = StressAccess.pools(sys).pools();
      if (left > baselinePools) {
        run.problem("pools: " + baselinePools + " before, " + left + " after destroying all");
      }
      run.summary = created.sum() + " workqueues created and destroyed; pools back to "
          + left;
      run.checkAndClose(sys);
    }
  }

  // ---- delayed work -----------------------------------------------------------------------

  /**
   * queueDelayedWork, modDelayedWork, cancel and flush of armed items, with 0–20 ms delays.
   * (cancelSync is stormed in queue-cancel and kthread, where every return value is exact.)
   */
  static final class DelayedChurn implements Scenario {
    @Override
    public String name() {
      return "delayed";
    }

    /** A delayed item that counts its runs. */
    static final class Timed extends DelayedWork {
      final Run run;
      final Workqueue wq;
      final Account account = new Account();

      Timed(Run run, Workqueue wq) {
        super(w -> ((Timed) w).account.ran(((Timed) w).run));
        this.run = run;
        this.wq = wq;
      }
    }

    @Override
    public void run(Run run) throws Exception {
      WorkqueueSystem sys = WorkqueueSystem.builder().name("stress-delayed").jmx(false).build();
      run.system = sys;
      List<Workqueue> wqs = List.of(sys.workqueue("s_dpercpu").build(),
          sys.workqueue("s_dunbound").unbound().build());
      List<Timed> items = new ArrayList<>();
      for (int i = 0; i < 256; i++) {
        items.add(new Timed(run, wqs.get(i % 2)));
      }
      int cpus = sys.cpus();
      run.drive("delayed", (t, rnd) -> {
        Timed d = items.get(rnd.nextInt(items.size()));
        Duration delay = Duration.ofNanos(rnd.nextLong(20_000_000L));
        int op = rnd.nextInt(100);
        if (op < 35) {
          d.account.pending(run, d.wq.queueDelayedWork(d, delay));
        } else if (op < 45) {
          d.account.pending(run, d.wq.queueDelayedWorkOn(rnd.nextInt(cpus), d, delay));
        } else if (op < 75) {
          d.account.pending(run, !d.wq.modDelayedWork(d, delay)); // false: was idle, now armed
        } else if (op < 88) {
          d.account.stolen(run, d.cancel());
        } else if (op < 92) {
          // cancel + wait, not cancelSync: cancelSync disables the item meanwhile, and a
          // concurrent modDelayedWork then returns false without arming it (as the kernel's
          // mod_delayed_work_on does), which this accounting could not tell from "armed".
          d.account.stolen(run, d.cancel());
          d.flush();
        } else {
          d.flush(); // an armed timer fires now
        }
      });
      quiesce(items);
      for (int i = 0; i < items.size(); i++) {
        items.get(i).account.check(run, "delayed item " + i);
      }
      run.summary = "256 delayed items on a per-CPU and an unbound workqueue";
      run.checkAndClose(sys);
    }
  }

  // ---- failing thread factory -------------------------------------------------------------

  /** A third of thread creations fail; workers are culled fast so creation keeps happening. */
  static final class FailingFactory implements Scenario {
    @Override
    public String name() {
      return "failing-factory";
    }

    @Override
    public void run(Run run) throws Exception {
      AtomicInteger calls = new AtomicInteger();
      LongAdder failures = new LongAdder();
      // Healthy while the system and its rescuers are made; flaky while the storm runs.
      java.util.concurrent.atomic.AtomicBoolean healthy =
          new java.util.concurrent.atomic.AtomicBoolean(true);
      ThreadFactory flaky = r -> {
        if (!healthy.get() && calls.incrementAndGet() % 3 == 0) {
          failures.increment();
          throw new OutOfMemoryError("unable to create native thread (stress)");
        }
        Thread th = new Thread(r);
        th.setDaemon(true);
        return th;
      };
      WorkqueueSystem sys = WorkqueueSystem.builder().name("stress-flaky").jmx(false)
          .threadFactory(flaky).idleWorkerTimeout(Duration.ofMillis(100)).build();
      run.system = sys;
      List<Workqueue> wqs = List.of(sys.workqueue("s_reclaim").memReclaim().build(),
          sys.workqueue("s_plain").build(),
          sys.workqueue("s_ureclaim").unbound().memReclaim().build());
      List<Counted> items = new ArrayList<>();
      for (int i = 0; i < 256; i++) {
        items.add(new Counted(run, wqs.get(i % wqs.size())));
      }
      healthy.set(false);
      run.drive("flaky", (t, rnd) -> {
        Counted c = items.get(rnd.nextInt(items.size()));
        int op = rnd.nextInt(100);
        if (op < 70) {
          c.account.pending(run, c.wq.queueWork(c));
        } else if (op < 85) {
          c.account.stolen(run, c.cancel());
        } else {
          sleepPlain(1); // let the pools go idle and cull
        }
      });
      healthy.set(true); // as memory pressure ends: every waiting item must now run
      quiesce(items);
      for (int i = 0; i < items.size(); i++) {
        items.get(i).account.check(run, "item " + i + " on " + items.get(i).wq.name());
      }
      long mayday = 0;
      long rescued = 0;
      for (Workqueue wq : wqs) {
        mayday += wq.stats().mayday();
        rescued += wq.stats().rescued();
      }
      run.summary = failures.sum() + " thread creations failed, " + mayday + " maydays, "
          + rescued + " items rescued";
      run.checkAndClose(sys);
    }
  }

  // ---- kthread workers --------------------------------------------------------------------

  /** KthreadWorker queue / delayed / mod / cancelSync / flush storm on two workers. */
  static final class KthreadStorm implements Scenario {
    @Override
    public String name() {
      return "kthread";
    }

    /** A kthread item (delayed or not) with its accounting. */
    static final class Item {
      final Account account = new Account();
      final KthreadWorker worker;
      final KthreadDelayedWork delayed;
      final KthreadWork plain;

      Item(Run run, KthreadWorker worker, boolean isDelayed) {
        this.worker = worker;
        Runnable fn = () -> account.ran(run);
        this.delayed = isDelayed ? new KthreadDelayedWork(fn) : null;
        this.plain = isDelayed ? null : new KthreadWork(fn);
      }

      KthreadWork work() {
        return delayed != null ? delayed : plain;
      }
    }

    @Override
    public void run(Run run) throws Exception {
      List<KthreadWorker> workers = List.of(KthreadWorker.create("stress_kthread0"),
          KthreadWorker.create("stress_kthread1"));
      List<Item> items = new ArrayList<>();
      for (int i = 0; i < 128; i++) {
        items.add(new Item(run, workers.get(i % 2), i % 3 == 0));
      }
      run.drive("kthread", (t, rnd) -> {
        Item it = items.get(rnd.nextInt(items.size()));
        int op = rnd.nextInt(100);
        if (it.delayed != null && op < 30) {
          Duration delay = Duration.ofNanos(rnd.nextLong(5_000_000L));
          if (rnd.nextBoolean()) {
            it.account.pending(run, it.worker.queueDelayedWork(it.delayed, delay));
          } else {
            it.account.pending(run, !it.worker.modDelayedWork(it.delayed, delay));
          }
        } else if (op < 65) {
          it.account.pending(run, it.worker.queueWork(it.work()));
        } else if (op < 85) {
          it.account.stolen(run, it.work().cancelSync());
        } else if (op < 95) {
          it.work().flush();
        } else {
          it.worker.flush();
        }
      });
      for (int round = 0; round < 3; round++) {
        for (Item it : items) {
          it.work().flush();
        }
        for (KthreadWorker w : workers) {
          w.flush();
        }
      }
      for (int i = 0; i < items.size(); i++) {
        items.get(i).account.check(run, "kthread item " + i);
      }
      for (KthreadWorker w : workers) {
        w.destroy();
      }
      run.summary = "2 kthread workers, 128 items (a third delayed)";
    }
  }
}
