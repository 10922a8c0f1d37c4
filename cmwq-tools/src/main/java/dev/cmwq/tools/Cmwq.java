package dev.cmwq.tools;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The {@code cmwq} command: {@code demo}, {@code monitor}, {@code dump}. */
@Command(name = "cmwq", mixinStandardHelpOptions = true, version = "cmwq 0.1.0-SNAPSHOT",
    description = "The Linux kernel's concurrency-managed workqueue for the JVM.",
    subcommands = {DemoCommand.class, MonitorCommand.class, DumpCommand.class,
        HelpCommand.class})
public final class Cmwq implements Runnable {
  @Spec
  CommandSpec spec;

  /** Entry point of {@code java -jar cmwq.jar}. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /**
   * The command line with its handlers: usage errors exit 2 with the usage, failures to reach
   * a JVM exit 1 with one line, anything else with its stack trace.
   */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Cmwq());
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof java.io.IOException) {
        cmd.getErr().println("cmwq " + cmd.getCommandName() + ": " + e.getMessage());
        cmd.getErr().flush();
        return 1;
      }
      throw e;
    });
    return cl;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** A PID argument, or a usage error naming it. */
  static long pid(CommandSpec spec, String text) {
    try {
      long pid = Long.parseLong(text);
      if (pid > 0) {
        return pid;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new ParameterException(spec.commandLine(), "PID: '" + text
        + "' (expected: the process id of a running JVM; run without it to list them)");
  }
}
