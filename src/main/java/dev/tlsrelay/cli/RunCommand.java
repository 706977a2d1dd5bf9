package dev.tlsrelay.cli;

import dev.tlsrelay.Relay;
import dev.tlsrelay.config.RelayConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.security.GeneralSecurityException;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code tlsrelay run}: the relay in the foreground until Ctrl-C or SIGTERM. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the relay in the foreground. Ctrl-C or SIGTERM drains in-flight messages, then exits.")
final class RunCommand implements Callable<Integer> {

    @Mixin
    ConfigOption config;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Optional<RelayConfig> loaded = config.load(err);
        if (loaded.isEmpty()) {
            return Main.EXIT_CONFIG;
        }
        RelayConfig cfg = loaded.get();
        Relay relay;
        try {
            relay = Relay.start(cfg);
        } catch (BindException e) {
            err.println("tlsrelay: cannot listen on " + cfg.listen().host().getHostAddress() + ":"
                    + cfg.listen().port() + " (" + e.getMessage() + "): stop whatever uses that port or set"
                    + " listen.port to another one");
            return 1;
        } catch (IOException e) {
            err.println("tlsrelay: cannot start: " + e.getMessage());
            return 1;
        } catch (GeneralSecurityException e) {
            err.println("tlsrelay: cannot use the TLS trust anchors (" + cfg.upstream().tls().trust().describe()
                    + "): " + e.getMessage() + "; check upstream.tls.ca-file");
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            relay.drainAndStop();
            stopped.countDown();
        }, "tlsrelay-shutdown"));
        stopped.await();
        return 0;
    }
}
