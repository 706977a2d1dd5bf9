package dev.tlsrelay.cli;

import java.io.PrintWriter;
import java.util.List;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tlsrelay} command. */
@Command(name = "tlsrelay",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "SMTP relay for legacy devices: plain SMTP in, verified TLS 1.2+ out, every negotiation audited.")
public final class Main {

    /**
     * The subcommands, in the order the usage lists them. Not in the annotation: picocli builds the
     * model of every subcommand it is given (reflection over each class, its options and its own
     * subcommands) before it parses anything, a tenth of a second or more of a relay's start.
     */
    private static final List<Class<?>> SUBCOMMANDS = List.of(RunCommand.class, CheckConfigCommand.class,
            ProbeCommand.class, SendTestCommand.class, QueueCommand.class, RouteCommand.class, AuditCommand.class,
            HealthcheckCommand.class, PasswdCommand.class, OAuth2Command.class, DemoCommand.class,
            CatcherCommand.class, CommandLine.HelpCommand.class);

    /** Exit code for bad configuration or bad arguments. */
    static final int EXIT_CONFIG = 2;

    private Main() {}

    public static void main(String[] args) {
        if (args.length > 0 && Preload.BEFORE_A_RELAY_STARTS.contains(args[0])) {
            Preload.start();
        }
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
        return commandLine(args).setOut(out).setErr(err)
                .setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? EXIT_CONFIG : 1)
                .execute(args);
    }

    /**
     * The command line with only the subcommand asked for, when the first argument names one
     * exactly; otherwise (no argument, an option, {@code help}, a typo to suggest a fix for) all of them.
     */
    static CommandLine commandLine(String... args) {
        CommandLine cl = new CommandLine(Main.class);
        String first = args.length > 0 ? args[0] : "";
        List<Class<?>> asked = SUBCOMMANDS.stream()
                .filter(c -> c != CommandLine.HelpCommand.class && c.getAnnotation(Command.class).name().equals(first))
                .toList();
        (asked.isEmpty() ? SUBCOMMANDS : asked).forEach(cl::addSubcommand);
        return cl;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"tlsrelay " + (v == null ? "development build" : v)};
        }
    }
}
