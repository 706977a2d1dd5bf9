package dev.tlsrelay.cli;

import dev.tlsrelay.Relay;
import dev.tlsrelay.config.ConfigException;
import dev.tlsrelay.config.ConfigLoader;
import dev.tlsrelay.config.RelayConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.security.GeneralSecurityException;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code tlsrelay run}: the relay in the foreground until Ctrl-C or SIGTERM. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the relay in the foreground. Ctrl-C or SIGTERM drains in-flight messages, then exits;"
                + " SIGHUP reloads the configuration file.")
final class RunCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

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
        reloadOnHangup(relay, err);
        log.info("ready (pid {}): SIGHUP reloads {}, SIGTERM or Ctrl-C drains and stops", ProcessHandle.current().pid(),
                config.file);
        stopped.await();
        return 0;
    }

    /**
     * SIGHUP (systemctl reload) re-reads the configuration file. A file with problems is refused,
     * each problem logged, and the running configuration stays.
     */
    private void reloadOnHangup(Relay relay, PrintWriter err) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> Thread.ofVirtual().start(() -> {
                log.info("SIGHUP: reloading {}", config.file);
                try {
                    RelayConfig next = ConfigLoader.load(config.file, System.getenv());
                    relay.reload(next).forEach(note -> log.warn("reload: {}", note));
                } catch (ConfigException e) {
                    e.problems().forEach(p -> log.error("reload refused, the running configuration stays: {}", p));
                } catch (GeneralSecurityException | RuntimeException e) {
                    log.error("reload refused, the running configuration stays: {}", e.toString());
                }
            }));
        } catch (IllegalArgumentException e) {
            err.println("tlsrelay: SIGHUP reload is not available on this platform; restart to apply changes");
        }
    }
}
