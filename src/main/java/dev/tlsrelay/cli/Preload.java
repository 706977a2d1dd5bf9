package dev.tlsrelay.cli;

import java.util.List;
import java.util.Set;

/**
 * Initializes, on a second thread, the classes whose static set-up dominates a relay's start while
 * the main thread sets up logging, parses the command line and reads the configuration: the Bouncy
 * Castle providers (hundreds of algorithm registrations), then Jackson's object mapper for the audit
 * log. The main thread needs them a few hundred milliseconds later and then finds them ready, or waits
 * for the class initialization in progress (the JVM's class-init lock): nothing is skipped or
 * reordered, only overlapped. A failure here is ignored: the main thread meets it again, and reports it,
 * when it uses the class.
 */
final class Preload {

    /** The subcommands that start a relay. */
    static final Set<String> BEFORE_A_RELAY_STARTS = Set.of("run", "demo");

    /** In the order the main thread needs them. Checked by a test: a renamed class fails it. */
    static final List<String> CLASSES = List.of("dev.tlsrelay.tls.Providers", "dev.tlsrelay.audit.AuditLog");

    private Preload() {}

    static void start() {
        Thread t = new Thread(Preload::run, "tlsrelay-preload");
        t.setDaemon(true);
        t.start();
    }

    static void run() {
        ClassLoader loader = Preload.class.getClassLoader();
        for (String name : CLASSES) {
            try {
                Class.forName(name, true, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                return; // The main thread reports it where the class is used.
            }
        }
    }
}
