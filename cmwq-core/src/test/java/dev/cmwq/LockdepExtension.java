package dev.cmwq;

import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Registered for every test (service loader + autodetection): a test fails if the lock-order
 * checker reported anything while it ran. The suite runs with {@code -Ddev.cmwq.lockdep=true}.
 */
public final class LockdepExtension implements BeforeEachCallback, AfterEachCallback {
  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(LockdepExtension.class);

  @Override
  public void beforeEach(ExtensionContext context) {
    context.getStore(NS).put("before", Lockdep.violations().size());
  }

  @Override
  public void afterEach(ExtensionContext context) {
    int before = context.getStore(NS).get("before", Integer.class);
    List<String> all = Lockdep.violations();
    if (all.size() > before) {
      throw new AssertionError("lock-order violations during this test:\n"
          + String.join("\n", all.subList(before, all.size())));
    }
  }
}
