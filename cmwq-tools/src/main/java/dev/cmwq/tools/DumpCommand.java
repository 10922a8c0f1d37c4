package dev.cmwq.tools;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import javax.management.ObjectName;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cmwq dump [PID]}: wq_dump.py and show_all_workqueues of a running JVM. */
@Command(name = "dump", mixinStandardHelpOptions = true,
    description = {"The configuration of a running JVM's workqueue systems, as"
        + " tools/workqueue/wq_dump.py prints it (affinity scopes and pods, worker pools, the pool"
        + " of every CPU of every workqueue, rescuers, node nr_active/max_active), followed by"
        + " the show_all_workqueues report of busy workqueues and pools.",
        "Without a PID, lists the Java processes one can attach to."})
final class DumpCommand implements Callable<Integer> {
  @Parameters(paramLabel = "PID", arity = "0..1", description = "Process id of the JVM")
  String pid;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (pid == null) {
      Attach.listJvms(out, "dump");
      return 0;
    }
    try (Attach target = Attach.to(Cmwq.pid(spec, pid))) {
      List<ObjectName> systems = new ArrayList<>(target.server.queryNames(Attach.SYSTEMS, null));
      if (systems.isEmpty()) {
        out.println("process " + pid + " has no workqueue system (no dev.cmwq MBeans)");
        out.flush();
        return 1;
      }
      systems.sort(null);
      for (ObjectName sys : systems) {
        if (systems.size() > 1) {
          out.println("== workqueue system " + target.server.getAttribute(sys, "name") + " ==");
          out.println();
        }
        out.print(target.server.invoke(sys, "wqDump", null, null));
        out.println();
        out.println("show_all_workqueues");
        out.println("===================");
        String busy = (String) target.server.invoke(sys, "dump", null, null);
        out.print(busy);
        out.println();
      }
      out.flush();
      return 0;
    }
  }
}
