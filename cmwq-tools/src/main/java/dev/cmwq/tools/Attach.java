package dev.cmwq.tools;

import com.sun.tools.attach.AttachNotSupportedException;
import com.sun.tools.attach.VirtualMachine;
import com.sun.tools.attach.VirtualMachineDescriptor;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import javax.management.MBeanServerConnection;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * Reaching the MBeans of another JVM on this machine: the Attach API starts the target's local
 * JMX agent (as {@code jcmd <pid> ManagementAgent.start_local} does) and we connect to it.
 */
final class Attach implements AutoCloseable {
  static final ObjectName WORKQUEUES = name("dev.cmwq:type=Workqueue,*");
  static final ObjectName SYSTEMS = name("dev.cmwq:type=WorkqueueSystem,*");

  private final JMXConnector connector;
  final MBeanServerConnection server;

  private Attach(JMXConnector connector) throws IOException {
    this.connector = connector;
    this.server = connector.getMBeanServerConnection();
  }

  /**
   * Connects to the JVM with process id {@code pid}.
   *
   * @throws IOException naming the pid when it cannot be attached to or its agent reached
   */
  static Attach to(long pid) throws IOException {
    VirtualMachine vm;
    try {
      vm = VirtualMachine.attach(Long.toString(pid));
    } catch (AttachNotSupportedException | IOException e) {
      throw new IOException("cannot attach to process " + pid + " (is it a JVM of this user,"
          + " started without -XX:+DisableAttachMechanism?): " + e.getMessage(), e);
    }
    String address;
    try {
      address = vm.startLocalManagementAgent();
    } finally {
      vm.detach();
    }
    return new Attach(JMXConnectorFactory.connect(new JMXServiceURL(address)));
  }

  /** Prints the JVMs one could attach to, for when no pid was given. */
  static void listJvms(PrintWriter out, String command) {
    List<VirtualMachineDescriptor> vms = new ArrayList<>(VirtualMachine.list());
    vms.sort(Comparator.comparing(VirtualMachineDescriptor::id));
    long self = ProcessHandle.current().pid();
    out.println("usage: cmwq " + command + " PID ...   (Java processes of this user:)");
    for (VirtualMachineDescriptor d : vms) {
      if (!d.id().equals(Long.toString(self))) {
        out.printf("%8s  %s%n", d.id(), d.displayName().isEmpty() ? "?" : d.displayName());
      }
    }
    out.flush();
  }

  @Override
  public void close() throws IOException {
    connector.close();
  }

  static ObjectName name(String text) {
    try {
      return new ObjectName(text);
    } catch (MalformedObjectNameException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
