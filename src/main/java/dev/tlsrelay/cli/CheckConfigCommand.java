package dev.tlsrelay.cli;

import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.config.Routing;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code tlsrelay check-config}: validate and print the effective configuration. */
@Command(name = "check-config", mixinStandardHelpOptions = true,
        description = "Validate the configuration and print every effective value (secrets masked). Exit 0 if"
                + " usable, 2 if not.")
final class CheckConfigCommand implements Callable<Integer> {

    @Mixin
    ConfigOption config;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Optional<RelayConfig> loaded = config.load(spec.commandLine().getErr());
        if (loaded.isEmpty()) {
            return Main.EXIT_CONFIG;
        }
        RelayConfig cfg = loaded.get();
        out.println("# effective configuration from " + config.file
                + " (origin: default, file, environment or preset)");
        for (RelayConfig.Setting s : cfg.settings()) {
            out.printf("%-28s = %-40s # %s%s%n", s.key().key(), s.shown(),
                    s.origin().name().toLowerCase(Locale.ROOT), s.example() ? ", EXAMPLE VALUE" : "");
        }
        for (Routing.NamedRoute r : cfg.routing().routes()) {
            out.println();
            out.println("# route " + r.name() + ": senders " + r.selectors().senders() + ", recipient-domains "
                    + r.selectors().recipientDomains() + ", clients " + r.selectors().clients());
            for (Routing.RouteSetting s : r.settings()) {
                out.printf("%-28s = %-40s # %s%n", s.key(), s.shown(), s.origin().name().toLowerCase(Locale.ROOT));
            }
            out.println("# limits: " + RouteCommand.describe(r.limits()) + ", max-connections "
                    + r.upstream().pool().maxConnections());
        }
        if (!cfg.exampleSettings().isEmpty()) {
            out.println();
            out.println("These keys still hold example values; replace them before relying on the relay:");
            cfg.exampleSettings().forEach(s -> out.println("  - " + s.key().key() + " = " + s.shown()));
        }
        if (!cfg.warnings().isEmpty()) {
            out.println();
            out.println("Risky settings (allowed, but be sure):");
            cfg.warnings().forEach(w -> out.println("  - " + w));
        }
        out.println();
        out.println("configuration OK");
        out.flush();
        return 0;
    }
}
