package dev.tlsrelay.cli;

import java.io.PrintWriter;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tlsrelay} command. */
@Command(name = "tlsrelay",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "SMTP relay for legacy devices: plain SMTP in, verified TLS 1.2+ out, every negotiation audited.",
        subcommands = {RunCommand.class, CheckConfigCommand.class, ProbeCommand.class, SendTestCommand.class,
                QueueCommand.class, RouteCommand.class, AuditCommand.class, HealthcheckCommand.class, PasswdCommand.class,
                OAuth2Command.class,
                DemoCommand.class, CatcherCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {

    /** Exit code for bad configuration or bad arguments. */
    static final int EXIT_CONFIG = 2;

    private Main() {}

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code (tests call this directly). */
    public static int execute(String... args) {
        return execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the command line with its output and errors going to the given writers. */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        // Bouncy Castle and Angus log through java.util.logging: route it to the one operational log.
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
        // Usage errors (picocli's own, and those a command raises after checking its options) are 2;
        // anything else unexpected is 1.
        return new CommandLine(Main.class).setOut(out).setErr(err)
                .setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? EXIT_CONFIG : 1)
                .execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"tlsrelay " + (v == null ? "development build" : v)};
        }
    }
}
