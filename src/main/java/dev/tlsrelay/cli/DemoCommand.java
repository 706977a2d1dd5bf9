package dev.tlsrelay.cli;

import dev.tlsrelay.demo.Demo;
import java.io.PrintStream;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tlsrelay demo}: the relay and a TLS catcher in one process, nothing to configure. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start the relay on 127.0.0.1 with a local TLS mail catcher as its upstream (a CA is minted"
                + " for it, and the relay verifies it fully). With --send, relay one test message, print its"
                + " audit lines and exit 0 if it arrived intact.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "2525", paramLabel = "PORT",
            description = "relay port on 127.0.0.1 (default ${DEFAULT-VALUE}; 0 = any free port)")
    int port;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "where the CA, received mail and audit go (default: a new temporary directory)")
    Path dir;

    @Option(names = "--send", description = "send one test message through the relay, check it, and exit")
    boolean send;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (port < 0 || port > 65535) {
            spec.commandLine().getErr().println("tlsrelay demo: --port " + port + " is not a port: use 1-65535,"
                    + " or 0 for any free port");
            return Main.EXIT_CONFIG;
        }
        ConsoleLog.quiet();
        Path where = dir != null ? dir : Files.createTempDirectory("tlsrelay-demo-");
        Demo demo;
        try {
            demo = Demo.start(where, port, out);
        } catch (BindException e) {
            spec.commandLine().getErr().println("tlsrelay demo: port " + port + " on 127.0.0.1 is already in use"
                    + " (another demo or relay?): pass --port with a free port, or --port 0 for any free port");
            spec.commandLine().getErr().flush();
            return 1;
        }
        if (send) {
            try (demo) {
                out.printf("tlsrelay demo: relay on 127.0.0.1:%d, catcher on 127.0.0.1:%d, files in %s%n",
                        demo.relayPort(), demo.catcher().port(), where);
                Demo.SelfTest result = demo.sendTestMessage(Duration.ofSeconds(30));
                out.println("audit lines written for this message:");
                result.auditLines().forEach(l -> out.println("  " + l));
                result.caught().ifPresent(c -> out.println("received: " + c.summary()));
                if (result.intact()) {
                    out.println("OK: the message crossed verified TLS and arrived byte for byte intact.");
                    return 0;
                }
                out.println("FAILED: " + result.problem());
                return 1;
            }
        }
        demo.printBanner();
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            demo.close();
            out.println("demo stopped; files kept in " + where);
            stop.countDown();
        }, "tlsrelay-demo-stop"));
        stop.await();
        return 0;
    }
}
