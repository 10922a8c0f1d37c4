package dev.cmwq;

import java.time.Duration;
import java.util.Objects;

/**
 * Argument checks with the house message {@code "name: value (expected: range)"}.
 * Public because the {@code kthread} package and the optional modules share it.
 */
public final class Checks {
  private Checks() {}

  /** {@link Objects#requireNonNull} naming the parameter. */
  public static <T> T notNull(T value, String name) {
    return Objects.requireNonNull(value, name);
  }

  /** Returns {@code value} if it lies in {@code [min, max]}, else throws IllegalArgumentException. */
  public static int inRange(int value, int min, int max, String name) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: " + min + "-" + max + ")");
    }
    return value;
  }

  /** Returns {@code value} if it is at least {@code min}. */
  public static int atLeast(int value, int min, String name) {
    if (value < min) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: >= " + min + ")");
    }
    return value;
  }

  /** A non-null, non-negative duration. */
  public static Duration nonNegative(Duration value, String name) {
    notNull(value, name);
    if (value.isNegative()) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: >= 0)");
    }
    return value;
  }

  /** A positive duration. */
  public static Duration positive(Duration value, String name) {
    notNull(value, name);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
    return value;
  }

  /** A delay argument in nanoseconds: {@code delay} must not be null; saturated, not wrapped. */
  public static long delayNanos(Duration delay) {
    return saturatedNanos(notNull(delay, "delay"));
  }

  /** A delay argument in nanoseconds: {@code unit} must not be null; saturated, not wrapped. */
  public static long delayNanos(long delay, java.util.concurrent.TimeUnit unit) {
    return notNull(unit, "unit").toNanos(delay);
  }

  /** Nanoseconds of {@code d}, saturated at {@link Long#MAX_VALUE} instead of overflowing. */
  public static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException overflow) {
      return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }
}
