package dev.cmwq.jmh;

import com.google.common.util.concurrent.MoreExecutors;
import dev.cmwq.Work;
import dev.cmwq.Workqueue;
import dev.cmwq.WorkqueueSystem;
import dev.cmwq.kthread.KthreadWork;
import dev.cmwq.kthread.KthreadWorker;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * The sides of the round-trip benchmarks (3 and the round trip of 8): hand one trivial item to an
 * idle implementation and wait for it to finish, by each one's own means.
 */
abstract class RoundTrips implements AutoCloseable {
  static final Runnable NOOP = () -> { };

  /** One round trip. */
  abstract void roundTrip() throws Throwable;

  @Override
  public abstract void close();

  /** Whether this side exists on the running JDK (virtual threads need 21). */
  boolean available() {
    return true;
  }

  static RoundTrips create(String side) {
    return switch (side) {
      case "cmwq" -> new CmwqTrip();
      case "kthread" -> new KthreadTrip();
      case "tpe1" -> new FutureTrip(Executors.newFixedThreadPool(1));
      case "fjp" -> new FutureTrip(new ForkJoinPool(2));
      case "guavaSeq" -> new GuavaTrip();
      case "vthread" -> new VirtualThreadTrip();
      default -> throw new IllegalArgumentException("unknown side: " + side);
    };
  }

  /** {@code queue_work} on the system workqueue, then {@code flush_work}. */
  static final class CmwqTrip extends RoundTrips {
    final WorkqueueSystem sys = WorkqueueSystem.builder().name("bench-rt").jmx(false)
        .watchdogThreshold(Duration.ZERO).build();
    final Workqueue wq = sys.system();
    final Work work = new Work(NOOP);

    @Override
    void roundTrip() {
      wq.queueWork(work);
      work.flush();
    }

    @Override
    public void close() {
      sys.close();
    }
  }

  /** {@code kthread_queue_work} on a dedicated worker, then {@code kthread_flush_work}. */
  static final class KthreadTrip extends RoundTrips {
    final KthreadWorker worker = KthreadWorker.create("bench-rt");
    final KthreadWork work = new KthreadWork(NOOP);

    @Override
    void roundTrip() {
      worker.queueWork(work);
      work.flush();
    }

    @Override
    public void close() {
      worker.destroy();
    }
  }

  /** {@code submit(noop).get()}. */
  static final class FutureTrip extends RoundTrips {
    final ExecutorService ex;

    FutureTrip(ExecutorService ex) {
      this.ex = ex;
    }

    @Override
    void roundTrip() throws InterruptedException, ExecutionException {
      ex.submit(NOOP).get();
    }

    @Override
    public void close() {
      ex.shutdownNow();
    }
  }

  /** Guava's sequential executor over a ForkJoinPool(2); the task unparks the waiter. */
  static final class GuavaTrip extends RoundTrips {
    final ForkJoinPool fjp = new ForkJoinPool(2);
    final Executor seq = MoreExecutors.newSequentialExecutor(fjp);
    final AtomicBoolean done = new AtomicBoolean();
    volatile Thread waiter;
    final Runnable task = () -> {
      done.set(true);
      LockSupport.unpark(waiter);
    };

    @Override
    void roundTrip() {
      waiter = Thread.currentThread();
      done.set(false);
      seq.execute(task);
      while (!done.get()) {
        LockSupport.park(this);
      }
    }

    @Override
    public void close() {
      fjp.shutdownNow();
    }
  }

  /** One virtual thread per item, joined (JDK 21+; absent on older JDKs). */
  static final class VirtualThreadTrip extends RoundTrips {
    static final MethodHandle START = find();

    private static MethodHandle find() {
      try {
        return MethodHandles.publicLookup().findStatic(Thread.class, "startVirtualThread",
            MethodType.methodType(Thread.class, Runnable.class));
      } catch (ReflectiveOperationException e) {
        return null;
      }
    }

    @Override
    boolean available() {
      return START != null;
    }

    @Override
    void roundTrip() throws Throwable {
      ((Thread) START.invokeExact(NOOP)).join();
    }

    @Override
    public void close() {}
  }
}
