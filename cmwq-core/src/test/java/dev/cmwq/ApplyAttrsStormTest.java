package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3 item 10, the seed of the project: pwqs are reference counted and the last reference,
 * dropped under a pool lock, only queues the release on {@code pool_workqueue_release}. Under an
 * {@code applyAttrs} storm with items in flight: every item runs exactly once, every release runs
 * on the release thread with no pool lock held, retired pools' threads exit, and the live pools
 * are exactly those the installed pwqs use.
 */
class ApplyAttrsStormTest {

  @Test
  void applyAttrsStormUnderLoad() throws Exception {
    WorkqueueSystem sys = WorkqueueSystem.builder().topology(Topology.of(4, 2, 1, 1)).build();
    try {
      Workqueue wq = sys.workqueue("storm").unbound().maxActive(8).build();
      Workqueue ordered = sys.workqueue("storm_ordered").ordered().build();
      int producers = 3;
      int targetApplies = 300;
      AtomicInteger queued = new AtomicInteger();
      AtomicInteger ran = new AtomicInteger();
      AtomicInteger duplicates = new AtomicInteger();
      AtomicInteger orderedNext = new AtomicInteger();
      AtomicInteger orderedBad = new AtomicInteger();
      AtomicBoolean producing = new AtomicBoolean(true);
      List<Thread> threads = new ArrayList<>();
      for (int p = 0; p < producers; p++) {
        threads.add(new Thread(() -> {
          ThreadLocalRandom rnd = ThreadLocalRandom.current();
          for (int i = 0; producing.get(); i++) {
            AtomicBoolean once = new AtomicBoolean();
            boolean slow = (i & 255) == 0;
            Work w = new Work(() -> {
              if (!once.compareAndSet(false, true)) {
                duplicates.incrementAndGet();
              }
              ran.incrementAndGet();
              if (slow) {
                TestSupport.plainSleep(1); // keep some items in flight across attribute swaps
              }
            });
            assertThat(wq.queueWorkOn(rnd.nextInt(4), w)).isTrue();
            queued.incrementAndGet();
            if ((i & 1023) == 0) {
              Thread.yield();
            }
          }
        }));
      }
      Thread orderedProducer = new Thread(() -> {
        int seq = 0;
        while (producing.get()) {
          int mine = seq++;
          ordered.queueWork(new Work(() -> {
            if (orderedNext.getAndIncrement() != mine) {
              orderedBad.incrementAndGet();
            }
          }));
          if ((mine & 127) == 0) {
            Thread.yield();
          }
        }
      });
      threads.forEach(Thread::start);
      orderedProducer.start();

      WorkqueueAttrs[] variants = {
          WorkqueueAttrs.defaults().withNice(1),
          WorkqueueAttrs.defaults().withNice(2).withAffinityScope(AffinityScope.CPU),
          WorkqueueAttrs.defaults().withCpumask(CpuMask.of(0, 1)).withAffinityScope(AffinityScope.SMT),
          WorkqueueAttrs.defaults().withCpumask(CpuMask.of(2, 3)).withAffinityStrict(true),
          WorkqueueAttrs.defaults().withAffinityScope(AffinityScope.SYSTEM),
      };
      long releasesBefore = sys.releasesStarted.get();
      int applies = 0;
      long deadline = System.nanoTime() + 20_000_000_000L;
      while ((applies < targetApplies || queued.get() < 60_000) && System.nanoTime() < deadline) {
        WorkqueueAttrs a = variants[applies % variants.length];
        wq.applyAttrs(a);
        ordered.applyAttrs(a.withAffinityScope(AffinityScope.DEFAULT));
        applies++;
      }
      producing.set(false);
      for (Thread t : threads) {
        t.join();
      }
      orderedProducer.join();
      wq.flush();
      ordered.flush();

      assertThat(duplicates.get()).as("items run twice").isZero();
      assertThat(ran.get()).as("items run").isEqualTo(queued.get());
      assertThat(queued.get()).isGreaterThan(10_000);
      assertThat(orderedNext.get()).isPositive();
      assertThat(orderedBad.get()).as("ordered items out of order").isZero();

      sys.releaseWorker.flush();
      assertThat(sys.releasesStarted.get() - releasesBefore).isGreaterThan(applies);
      assertThat(sys.releasesOffThread.get()).isZero();
      assertThat(sys.releasesUnderPoolLock.get()).isZero();

      // Live pools are exactly the ones installed pwqs use.
      Set<WorkerPool> inUse = new HashSet<>();
      for (Workqueue q : sys.workqueues()) {
        for (PoolWorkqueue pwq : q.pwqs()) {
          if (pwq.pool.cpu < 0) {
            inUse.add(pwq.pool);
          }
        }
      }
      assertThat(new HashSet<>(sys.unboundPools())).isEqualTo(inUse);
      // Every unbound worker thread belongs to a live pool: retired pools' threads have exited.
      Set<Integer> liveIds = new HashSet<>();
      for (WorkerPool p : inUse) {
        liveIds.add(p.id);
      }
      for (String name : TestSupport.threads("kworker/u")) {
        int id = Integer.parseInt(name.substring("kworker/u".length(), name.indexOf(':')));
        if (WorkerPool.byId(id) != null && WorkerPool.byId(id).system == sys) {
          assertThat(liveIds).as("pool of " + name).contains(id);
        }
      }
      assertThat(TestSupport.invariantViolations(sys)).isEmpty();
    } finally {
      sys.close();
    }
    assertThat(sys.releasesOffThread.get()).isZero();
    assertThat(sys.releasesUnderPoolLock.get()).isZero();
  }
}
