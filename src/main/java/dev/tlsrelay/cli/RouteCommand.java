package dev.tlsrelay.cli;

import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.config.Routing;
import dev.tlsrelay.route.Router;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tlsrelay route}: which route a message would take and why (like {@code postmap -q}). */
@Command(name = "route", mixinStandardHelpOptions = true,
        description = "Print which route a message from --from to --to (sent by --client) would take, why, and"
                + " that route's smarthosts and limits. Reads the configuration only; connects nowhere.")
final class RouteCommand implements Callable<Integer> {

    @Mixin
    ConfigOption config;

    @Option(names = "--from", required = true, paramLabel = "ADDR", description = "envelope sender")
    String from;

    @Option(names = "--to", required = true, paramLabel = "ADDR", description = "recipient")
    String to;

    @Option(names = "--client", paramLabel = "IP", defaultValue = "127.0.0.1",
            description = "the sending device's address (default: ${DEFAULT-VALUE})")
    String client;

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
        Router.Choice choice = new Router(cfg.routing()).choose(from, to, client);
        RelayConfig.Upstream upstream = cfg.upstream();
        Routing.Limits limits = cfg.routing().defaultLimits();
        for (Routing.NamedRoute r : cfg.routing().routes()) {
            if (r.name().equals(choice.route())) {
                upstream = r.upstream();
                limits = r.limits();
            }
        }
        out.println("route:      " + choice.route());
        out.println("why:        " + choice.why());
        out.println("smarthosts: " + upstream.routes());
        out.println("auth:       " + upstream.auth().map(a -> a.username()).orElse("none"));
        out.println("limits:     " + describe(limits) + ", max-connections " + upstream.pool().maxConnections());
        out.flush();
        return 0;
    }

    static String describe(Routing.Limits l) {
        return "messages-per-minute " + unlimited(l.messagesPerMinute()) + ", recipients-per-day "
                + unlimited(l.recipientsPerDay()) + ", max-message-size " + unlimited(l.maxMessageSize())
                + ", max-recipients-per-message " + unlimited(l.maxRecipientsPerMessage());
    }

    private static String unlimited(long n) {
        return n <= 0 ? "unlimited" : String.valueOf(n);
    }
}
