package dev.cmwq;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A single volatile reference that has a card-table cache line to itself: the head of the
 * lock-free stacks that producers push onto with a CAS while a consumer thread stores references
 * elsewhere (the {@code KthreadWorker} inbox, the {@code TimerBase} reconcile stack). Public
 * because those packages share it; not part of the API.
 *
 * <p>Why: every reference store also writes a byte of the garbage collector's card table (one
 * byte per 512 B of heap; the Parallel collector writes it unconditionally). With a stack head
 * in a small object allocated next to its owner, the producers' CAS and the consumer's stores
 * into the owner kept writing the same card-table cache line (64 cards: 32 KiB of heap), which
 * bounced between their CPUs once the objects were old: {@code BurstProbe kthread,mpsc,tpe1}
 * 131 ns per item, 58.8 with {@code -XX:+UseCondCardMark} (no redundant card writes), 78–81 with
 * the head as the middle element of a 64 KiB array, whose 32 KiB window of the heap it has to
 * itself (docs/benchmarks.md, benchmark 8). The other elements stay null.
 *
 * <p>The cell is the array itself (no holder object, so no extra load on the hot path); these
 * static methods give it its volatile semantics.
 */
public final class IsolatedCell {
  /** Length of a cell's array: 64 KiB of references, twice a card-table line's reach. */
  private static final int LENGTH = 16_384;
  /** The element that holds the value. */
  private static final int INDEX = LENGTH / 2;
  private static final VarHandle ELEMENT = MethodHandles.arrayElementVarHandle(Object[].class);

  private IsolatedCell() {}

  /** A new cell holding null. */
  public static Object[] create() {
    return new Object[LENGTH];
  }

  /** Volatile read. */
  public static Object get(Object[] cell) {
    return ELEMENT.getVolatile(cell, INDEX);
  }

  /** Volatile compare-and-set. */
  public static boolean compareAndSet(Object[] cell, Object expect, Object update) {
    return ELEMENT.compareAndSet(cell, INDEX, expect, update);
  }

  /** Volatile exchange. */
  public static Object getAndSet(Object[] cell, Object value) {
    return ELEMENT.getAndSet(cell, INDEX, value);
  }
}
