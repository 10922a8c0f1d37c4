package dev.cmwq;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cmwq.kthread.KthreadDelayedWork;
import dev.cmwq.kthread.KthreadWork;
import dev.cmwq.kthread.KthreadWorker;
import dev.cmwq.timer.TimerBase;
import dev.cmwq.timer.TimerList;
import dev.cmwq.timer.TimerWheel;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The style rule "every mutable field documents its locking rule" (package-info legend), checked
 * against the sources: each non-static field of the engine classes whose value or contents can
 * change must have a comment starting with one of the legend's codes.
 */
class LockingRulesTest {
  private static final Pattern CODE =
      Pattern.compile("^(I|L|K|S|T|N|LN|PL|WQ|WR|WO|V|R|W|B|P|MD|M)([ (][^:;]{0,60})?[:;]");
  private static final Set<Class<?>> IMMUTABLE = Set.of(String.class, Integer.class,
      Long.class, Boolean.class, Thread.class, CpuMask.class, PoolAttrs.class, Topology.class,
      WorkqueueAttrs.class, Completion.class, WorkqueueSystem.class, Workqueue.class,
      WorkerPool.class, KthreadWorker.class, WorkFunction.class, Runnable.class);

  private static final Class<?>[] ENGINE = {
      Work.class, WorkList.class, WqBarrier.class, PoolWorkqueue.class, WorkerPool.class,
      Worker.class, Workqueue.class, Workqueue.WqFlusher.class, WorkqueueSystem.class,
      NodeNrActive.class, SamplingTick.class, Completion.class, KthreadWork.class,
      KthreadWorker.class, Topology.class, Topology.PodType.class, CpuMask.class,
      WorkqueueAttrs.class, DelayedWork.class, KthreadDelayedWork.class, TimerList.class,
      TimerWheel.class, TimerBase.class, ExecutorView.class, ExecutorView.ViewWork.class,
      ExecutorView.Task.class, IdleSpin.class};

  @Test
  void everyMutableEngineFieldStatesItsLockingRule() throws IOException {
    List<String> missing = new ArrayList<>();
    int checked = 0;
    for (Class<?> c : ENGINE) {
      String source = source(c);
      for (Field f : c.getDeclaredFields()) {
        int mod = f.getModifiers();
        if (Modifier.isStatic(mod) || f.isSynthetic() || !needsRule(f)) {
          continue;
        }
        checked++;
        String comment = commentBefore(source, f.getName());
        if (comment == null || !CODE.matcher(comment).find()) {
          missing.add(c.getSimpleName() + "." + f.getName() + " (comment: " + comment + ")");
        }
      }
    }
    assertThat(checked).isGreaterThan(60);
    assertThat(missing).as("fields without a locking-rule code").isEmpty();
  }

  private static boolean needsRule(Field f) {
    if (!Modifier.isFinal(f.getModifiers())) {
      return true;
    }
    Class<?> t = f.getType();
    if (t.isPrimitive() || t.isEnum() || IMMUTABLE.contains(t)) {
      return false;
    }
    // Locks and conditions are the rules themselves.
    return !(Lock.class.isAssignableFrom(t) || Condition.class.isAssignableFrom(t)
        || t.getName().startsWith("java.util.function") || t == System.Logger.class);
  }

  private static String source(Class<?> c) throws IOException {
    Class<?> top = c;
    while (top.getEnclosingClass() != null) {
      top = top.getEnclosingClass();
    }
    Path p = Path.of("src/main/java", top.getName().replace('.', '/') + ".java");
    return Files.readString(p);
  }

  /** The text of the comment right above the field's declaration, or null. */
  private static String commentBefore(String source, String field) {
    Matcher m = Pattern.compile("(?m)^[ \\t]+[\\w<>\\[\\], .?@]*\\b" + Pattern.quote(field)
        + "\\b( =[^;]*)?;").matcher(source);
    while (m.find()) {
      String before = source.substring(0, m.start()).stripTrailing();
      if (!before.endsWith("*/")) {
        continue;
      }
      int start = before.lastIndexOf("/**");
      if (start < 0) {
        continue;
      }
      String text = before.substring(start + 3, before.length() - 2)
          .replaceAll("(?m)^\\s*\\* ?", "").strip();
      return text;
    }
    return null;
  }
}
