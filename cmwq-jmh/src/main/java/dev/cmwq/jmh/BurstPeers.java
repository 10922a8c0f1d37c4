package dev.cmwq.jmh;

import com.google.common.util.concurrent.MoreExecutors;
import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import dev.cmwq.kthread.KthreadWork;
import dev.cmwq.kthread.KthreadWorker;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.jctools.queues.MpscUnboundedArrayQueue;

/**
 * The sides of the burst benchmarks (1, 2 and 8 of docs/benchmarks.md): each runs a burst of
 * preallocated items whose body is one atomic add, and waits (parking) until the last one ran.
 * Every side allocates its items up front, so what a burst allocates is the implementation's.
 */
abstract class BurstPeers implements AutoCloseable {
  final String name;
  final int burst;
  /** Completed bodies; the one that completes a burst unparks the waiting producer. */
  final AtomicLong done = new AtomicLong();
  /** Written by the producer before it submits a burst; read by the bodies. */
  volatile long target;
  /** Written by the producer before it submits a burst; read by the bodies. */
  volatile Thread waiter;
  /** Items that ran out of queueing order (ordered sides). */
  final AtomicInteger orderViolations = new AtomicInteger();
  /**
   * The next sequence number an ordered side must run. Plain: only the running item touches it,
   * an ordered side runs one item at a time, and its queue orders one item's end before the
   * next one's start (a broken order shows up as a violation, not as a data race to hide).
   */
  int expectedSeq;

  BurstPeers(String name, int burst) {
    this.name = name;
    this.burst = burst;
  }

  /** The item body: one atomic add; wakes the producer after the burst's last item. */
  final void body() {
    if (done.incrementAndGet() == target) {
      LockSupport.unpark(waiter);
    }
  }

  /** Body of item {@code seq} on an ordered side: also checks items run in queueing order. */
  final void orderedBody(int seq) {
    if (seq != expectedSeq) {
      orderViolations.incrementAndGet();
    }
    expectedSeq = seq + 1 == burst ? 0 : seq + 1;
    body();
  }

  /** Queues all items of one burst and waits until every one has run. */
  final void runBurst() {
    waiter = Thread.currentThread();
    long t = done.get() + burst;
    target = t;
    submitAll();
    while (done.get() < t) {
      LockSupport.park(this);
    }
  }

  /** Creates every named side. */
  static BurstPeers[] createAll(String[] names, int burst) {
    BurstPeers[] sides = new BurstPeers[names.length];
    for (int i = 0; i < names.length; i++) {
      sides[i] = create(names[i], burst);
    }
    return sides;
  }

  static void closeAll(BurstPeers[] sides) {
    for (BurstPeers s : sides) {
      s.close();
    }
  }

  /**
   * One paired invocation: every side runs one burst, starting with side {@code round} modulo
   * their number so the order rotates; returns each side's nanoseconds, indexed like
   * {@code sides}.
   */
  static long[] runRotated(BurstPeers[] sides, int round) {
    long[] nanos = new long[sides.length];
    for (int k = 0; k < sides.length; k++) {
      int which = (round + k) % sides.length;
      long t0 = System.nanoTime();
      sides[which].runBurst();
      nanos[which] = System.nanoTime() - t0;
    }
    return nanos;
  }

  /** Order violations seen by every side since the last call. */
  static long takeOrderViolations(BurstPeers[] sides) {
    long v = 0;
    for (BurstPeers s : sides) {
      v += s.orderViolations.getAndSet(0);
    }
    return v;
  }

  /** Hands every item of the burst to the implementation. */
  abstract void submitAll();

  @Override
  public abstract void close();

  /** Creates side {@code name}; {@code ordered} sides check their order. */
  static BurstPeers create(String name, int burst) {
    return switch (name) {
      case "cmwq" -> new CmwqSide(name, burst, s -> s.system());
      case "cmwqUnbound" -> new CmwqSide(name, burst, s -> s.systemUnbound());
      case "cmwqOrdered" -> new CmwqSide(name, burst, s -> s.workqueue("bench-ordered").ordered().build());
      case "tpe" -> new ExecutorSide(name, burst, new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS,
          new LinkedBlockingQueue<>()), false);
      case "tpe1" -> new ExecutorSide(name, burst, new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
          new LinkedBlockingQueue<>()), true);
      case "fjp" -> new ExecutorSide(name, burst, new ForkJoinPool(2), false);
      case "guavaSeq" -> new GuavaSide(name, burst);
      case "disruptor" -> new DisruptorSide(name, burst);
      case "mpsc" -> new MpscSide(name, burst);
      case "kthread" -> new KthreadSide(name, burst);
      default -> throw new IllegalArgumentException("unknown side: " + name);
    };
  }

  interface WqChoice {
    Workqueue pick(WorkqueueSystem sys);
  }

  /** cmwq: embedded {@code Work} items queued with {@code queueWork}. */
  static final class CmwqSide extends BurstPeers {
    final WorkqueueSystem sys;
    final Workqueue wq;
    final Work[] items;

    CmwqSide(String name, int burst, WqChoice choice) {
      super(name, burst);
      sys = WorkqueueSystem.builder().name("bench-" + name).jmx(false)
          .watchdogThreshold(Duration.ZERO).build();
      wq = choice.pick(sys);
      boolean ordered = name.equals("cmwqOrdered");
      items = new Work[burst];
      for (int i = 0; i < burst; i++) {
        int seq = i;
        items[i] = ordered ? new Work(() -> orderedBody(seq)) : new Work(this::body);
      }
    }

    @Override
    void submitAll() {
      for (Work w : items) {
        wq.queueWork(w);
      }
    }

    @Override
    public void close() {
      sys.close();
    }
  }

  /** A dedicated {@code KthreadWorker} with embedded {@code KthreadWork} items (benchmark 8). */
  static final class KthreadSide extends BurstPeers {
    final KthreadWorker worker = KthreadWorker.create("bench-kthread");
    final KthreadWork[] items;

    KthreadSide(String name, int burst) {
      super(name, burst);
      items = new KthreadWork[burst];
      for (int i = 0; i < burst; i++) {
        int seq = i;
        items[i] = new KthreadWork(() -> orderedBody(seq));
      }
    }

    @Override
    void submitAll() {
      for (KthreadWork w : items) {
        worker.queueWork(w);
      }
    }

    @Override
    public void close() {
      worker.destroy();
    }
  }

  /** A java.util.concurrent executor with preallocated Runnables. */
  static final class ExecutorSide extends BurstPeers {
    final ExecutorService ex;
    final Runnable[] items;

    ExecutorSide(String name, int burst, ExecutorService ex, boolean ordered) {
      super(name, burst);
      this.ex = ex;
      items = new Runnable[burst];
      for (int i = 0; i < burst; i++) {
        int seq = i;
        items[i] = ordered ? () -> orderedBody(seq) : this::body;
      }
    }

    @Override
    void submitAll() {
      for (Runnable r : items) {
        ex.execute(r);
      }
    }

    @Override
    public void close() {
      ex.shutdownNow();
    }
  }

  /** Guava's sequential executor over a ForkJoinPool(2): ordered, one task at a time. */
  static final class GuavaSide extends BurstPeers {
    final ForkJoinPool fjp = new ForkJoinPool(2);
    final Executor seq = MoreExecutors.newSequentialExecutor(fjp);
    final Runnable[] items;

    GuavaSide(String name, int burst) {
      super(name, burst);
      items = new Runnable[burst];
      for (int i = 0; i < burst; i++) {
        int s = i;
        items[i] = () -> orderedBody(s);
      }
    }

    @Override
    void submitAll() {
      for (Runnable r : items) {
        seq.execute(r);
      }
    }

    @Override
    public void close() {
      fjp.shutdownNow();
    }
  }

  /** LMAX Disruptor, one producer, one consumer, blocking wait strategy. */
  static final class DisruptorSide extends BurstPeers {
    static final class Slot {
      int seq;
    }

    final Disruptor<Slot> disruptor;
    final RingBuffer<Slot> ring;

    DisruptorSide(String name, int burst) {
      super(name, burst);
      disruptor = new Disruptor<>(Slot::new, Integer.highestOneBit(burst) << 1,
          r -> {
            Thread t = new Thread(r, "disruptor-consumer");
            t.setDaemon(true);
            return t;
          }, ProducerType.SINGLE, new BlockingWaitStrategy());
      EventHandler<Slot> handler = (slot, sequence, endOfBatch) -> orderedBody(slot.seq);
      disruptor.handleEventsWith(handler);
      ring = disruptor.start();
    }

    @Override
    void submitAll() {
      for (int i = 0; i < burst; i++) {
        long s = ring.next();
        ring.get(s).seq = i;
        ring.publish(s);
      }
    }

    @Override
    public void close() {
      disruptor.halt();
    }
  }

  /**
   * The reference single-consumer executor: a JCTools MPSC queue drained by one thread that
   * parks when the queue is empty and is unparked by the producer that finds it asleep.
   */
  static final class MpscSide extends BurstPeers {
    final MpscUnboundedArrayQueue<Runnable> queue = new MpscUnboundedArrayQueue<>(1024);
    final Thread consumer;
    /** 1 while the consumer is (about to be) parked. */
    final AtomicInteger sleeping = new AtomicInteger();
    /** Set by close(); read by the consumer loop. */
    volatile boolean stop;
    final Runnable[] items;

    MpscSide(String name, int burst) {
      super(name, burst);
      items = new Runnable[burst];
      for (int i = 0; i < burst; i++) {
        int s = i;
        items[i] = () -> orderedBody(s);
      }
      consumer = new Thread(this::drain, "mpsc-consumer");
      consumer.setDaemon(true);
      consumer.start();
    }

    private void drain() {
      while (!stop) {
        Runnable r = queue.relaxedPoll();
        if (r != null) {
          r.run();
          continue;
        }
        sleeping.set(1);
        if (queue.isEmpty() && !stop) {
          LockSupport.park(this);
        }
        sleeping.set(0);
      }
    }

    @Override
    void submitAll() {
      for (Runnable r : items) {
        queue.offer(r);
        if (sleeping.get() == 1 && sleeping.compareAndSet(1, 0)) {
          LockSupport.unpark(consumer);
        }
      }
    }

    @Override
    public void close() {
      stop = true;
      LockSupport.unpark(consumer);
    }
  }
}
