package dev.cmwq.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SPEC §7 and issue 7: {@code cmwq monitor} and {@code cmwq dump} attach to a child JVM whose
 * workload is known exactly, and {@code cmwq demo} runs as a child JVM while the monitor watches
 * it; their output must have the wq_monitor columns and numbers that match the workload.
 */
class ToolsTest {
  /** A wq_monitor row: name, total, infl, CPUtime, CPUitsv, CMW/RPR, mayday, rescued. */
  static final Pattern ROW = Pattern.compile(
      "^(\\S.{0,23}?)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+\\.\\d)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)$");

  static Process known;

  @BeforeAll
  static void startKnownWorkload() throws Exception {
    known = child(KnownWorkload.class.getName());
    awaitLine(known, "READY");
  }

  @AfterAll
  static void stopKnownWorkload() throws Exception {
    known.getOutputStream().close();
    if (!known.waitFor(30, TimeUnit.SECONDS)) {
      known.destroyForcibly();
    }
  }

  /** A JVM running {@code mainClass} with this test's class path. */
  static Process child(String mainClass, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), mainClass));
    Collections.addAll(cmd, args);
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }

  static List<String> awaitLine(Process p, String prefix) throws IOException {
    List<String> seen = new ArrayList<>();
    BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8));
    for (String line; (line = r.readLine()) != null; ) {
      seen.add(line);
      if (line.startsWith(prefix)) {
        return seen;
      }
    }
    throw new AssertionError("child ended before printing " + prefix + ": " + seen);
  }

  record Result(int exit, String out, String err) {}

  static Result cmwq(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    picocli.CommandLine cl = Cmwq.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }

  /** The rows of the last table in a monitor output, by workqueue name. */
  static Map<String, String[]> rows(String output) {
    Map<String, String[]> rows = new HashMap<>();
    for (String line : output.split("\n")) {
      Matcher m = ROW.matcher(line.stripTrailing());
      if (m.matches()) {
        String[] cols = new String[8];
        for (int i = 0; i < 8; i++) {
          cols[i] = m.group(i + 1).strip();
        }
        rows.put(cols[0], cols);
      }
    }
    return rows;
  }

  // ---- monitor --------------------------------------------------------------------------------

  @Test
  void monitor_showsTheKnownWorkloadsNumbers() {
    Result r = cmwq("monitor", Long.toString(known.pid()), "-i", "0");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("total", "infl", "CPUtime", "CPUitsv", "CMW/RPR", "mayday",
        "rescued");
    Map<String, String[]> rows = rows(r.out());
    assertThat(rows.get("child_known")).as(r.out())
        .containsExactly("child_known", "1000", "0", rows.get("child_known")[3], "0",
            rows.get("child_known")[5], "-", "-");
    assertThat(rows.get("child_busy")[1]).isEqualTo("1");
    assertThat(rows.get("child_busy")[2]).as("the blocked item is in flight").isEqualTo("1");
    String[] reclaim = rows.get("child_reclaim");
    assertThat(reclaim[1]).isEqualTo("5");
    assertThat(reclaim[4]).as("CPUitsv of an unbound workqueue").isEqualTo("-");
    assertThat(reclaim[6]).as("mayday of a MEM_RECLAIM workqueue").isEqualTo("0");
    assertThat(reclaim[7]).isEqualTo("0");
    assertThat(rows).containsKeys("events", "events_unbound");
  }

  @Test
  void monitor_filtersByRegex_repeats_andSpeaksJson() {
    Result filtered = cmwq("monitor", Long.toString(known.pid()), "child_k", "busy$", "-i", "0.1",
        "-n", "2");
    assertThat(filtered.exit()).as(filtered.err()).isZero();
    assertThat(rows(filtered.out())).containsOnlyKeys("child_known", "child_busy");
    assertThat(filtered.out().split("CPUitsv", -1)).as("two tables").hasSize(3);

    Result json = cmwq("monitor", Long.toString(known.pid()), "^child_known$", "--json", "-i",
        "0");
    assertThat(json.exit()).isZero();
    List<String> lines = json.out().lines().filter(l -> !l.isBlank()).toList();
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).startsWith("{\"timestamp\": ").contains("\"name\": \"child_known\"",
        "\"unbound\": false", "\"mem_reclaim\": false", "\"started\": 1000",
        "\"completed\": 1000", "\"cm_wakeup\": ").endsWith("}");
  }

  @Test
  void monitorAndDump_withoutPid_listTheJvms_andBadPidsAreClearErrors() {
    Result list = cmwq("monitor");
    assertThat(list.exit()).isZero();
    assertThat(list.out()).contains("usage: cmwq monitor PID").contains(Long.toString(known.pid()))
        .contains(KnownWorkload.class.getName());
    assertThat(cmwq("dump").out()).contains("usage: cmwq dump PID");

    Result bad = cmwq("monitor", "abc");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("PID: 'abc'");
    Result gone = cmwq("dump", "999999999");
    assertThat(gone.exit()).isEqualTo(1);
    assertThat(gone.err()).contains("cannot attach to process 999999999");
    Result interval = cmwq("monitor", Long.toString(known.pid()), "-i", "-1");
    assertThat(interval.exit()).isEqualTo(2);
    assertThat(interval.err()).contains("--interval: -1.0 (expected: >= 0)");
  }

  // ---- dump -----------------------------------------------------------------------------------

  @Test
  void dump_printsTheWqDumpSections_andTheBusyWorkqueue() {
    Result r = cmwq("dump", Long.toString(known.pid()));
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("Affinity Scopes", "Worker Pools", "Workqueue CPU -> pool",
        "child_known", "child_reclaim", "show_all_workqueues");
    String busy = r.out().substring(r.out().indexOf("show_all_workqueues"));
    assertThat(busy).contains("workqueue child_busy:").doesNotContain("workqueue child_known:");
  }

  // ---- demo -----------------------------------------------------------------------------------

  @Test
  void demo_runsChecksAndCanBeMonitoredWhileItRuns() throws Exception {
    Process demo = child(Cmwq.class.getName(), "demo", "--seconds", "5", "--plain");
    List<String> lines = new ArrayList<>(awaitLine(demo, "cmwq demo"));
    Result watched = cmwq("monitor", Long.toString(demo.pid()), "^demo_", "-i", "0");
    BufferedReader r = new BufferedReader(new InputStreamReader(demo.getInputStream(),
        StandardCharsets.UTF_8));
    for (String line; (line = r.readLine()) != null; ) {
      lines.add(line);
    }
    assertThat(demo.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = String.join("\n", lines);
    assertThat(demo.exitValue()).as(out).isZero();
    assertThat(out).contains("total", "CPUitsv", "demo_conn* (48 ordered)", "demo_io",
        "summary", "check: OK");

    // The summary's numbers agree with each other and with the tables.
    Matcher once = Pattern.compile("accepted (\\d+), ran once (\\d+), ran twice 0, lost 0")
        .matcher(out);
    assertThat(once.find()).as(out).isTrue();
    assertThat(once.group(1)).isEqualTo(once.group(2));
    Matcher items = Pattern.compile("requests (\\d+), disk reads (\\d+), batch jobs (\\d+),"
        + " CPU hogs (\\d+), writebacks (\\d+)").matcher(out);
    assertThat(items.find()).isTrue();
    long sum = 0;
    for (int i = 1; i <= 5; i++) {
      sum += Long.parseLong(items.group(i));
    }
    assertThat(sum).isEqualTo(Long.parseLong(once.group(2)));
    assertThat(Long.parseLong(items.group(4))).as("CPU hogs").isGreaterThanOrEqualTo(3);
    Map<String, String[]> finalTable = rows(out);
    assertThat(finalTable.get("demo_writeback")[1]).isEqualTo(items.group(5));
    assertThat(finalTable.get("demo_io")[1]).isEqualTo(items.group(2));

    // What the monitor saw mid-run: every demo workqueue, no more than the final counts.
    assertThat(watched.exit()).as(watched.err()).isZero();
    Map<String, String[]> mid = rows(watched.out());
    assertThat(mid).containsKeys("demo_conn00", "demo_conn47", "demo_io", "demo_crunch",
        "demo_batch", "demo_writeback", "demo_config");
    long conns = 0;
    for (int c = 0; c < 48; c++) {
      conns += Long.parseLong(mid.get(String.format("demo_conn%02d", c))[1]);
    }
    assertThat(conns).isPositive().isLessThanOrEqualTo(Long.parseLong(items.group(1)));
    assertThat(mid.get("demo_writeback")[6]).as("MEM_RECLAIM shows mayday").isNotEqualTo("-");
  }

  @Test
  void demo_liveModeRefreshesInPlace_plainModeDoesNot_andBadArgumentsAreRejected() {
    Result live = cmwq("demo", "--seconds", "2", "--live", "--connections", "4");
    assertThat(live.exit()).as(live.out()).isZero();
    assertThat(live.out()).contains("\u001b[2K").contains("\u001b[10F");
    Result plain = cmwq("demo", "--seconds", "1", "--plain", "--connections", "4");
    assertThat(plain.exit()).isZero();
    assertThat(plain.out()).doesNotContain("\u001b[").contains("check: OK");

    Result zero = cmwq("demo", "--seconds", "0");
    assertThat(zero.exit()).isEqualTo(2);
    assertThat(zero.err()).contains("--seconds: 0 (expected: 1..3600)");
    assertThat(cmwq("demo", "--plain", "--live").err()).contains("exclude each other");
  }
}
