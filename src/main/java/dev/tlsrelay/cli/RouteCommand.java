package dev.tlsrelay.cli;

import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.config.Routing;
import dev.tlsrelay.route.Router;
import java.io.PrintWriter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
        String prefix = "upstream.";
        Map<String, String> shown = new HashMap<>();
        cfg.settings().forEach(st -> shown.put(st.key().key(), st.shown()));
        for (Routing.NamedRoute r : cfg.routing().routes()) {
            if (r.name().equals(choice.route())) {
                upstream = r.upstream();
                limits = r.limits();
                prefix = "route." + r.name() + ".";
                shown.clear();
                r.settings().forEach(st -> shown.put(st.key(), st.shown()));
            }
        }
        out.println("route:      " + choice.route());
        out.println("why:        " + choice.why());
        out.println("smarthosts: " + upstream.routes());
        String keys = prefix;
        out.println("auth:       " + upstream.auth().map(a -> describe(a, keys, shown)).orElse("none"));
        out.println("limits:     " + describe(limits) + ", max-connections " + upstream.pool().maxConnections());
        out.flush();
        return 0;
    }

    /**
     * Who the relay logs in as, with which mechanism and why that one: {@code user, LOGIN (microsoft365
     * preset; PLAIN if the server does not offer LOGIN)}. Never a password or token.
     *
     * @param prefix {@code upstream.} or {@code route.NAME.}: how the chosen route's keys are written
     * @param shown  the chosen route's keys and their shown values
     */
    static String describe(RelayConfig.Credentials a, String prefix, Map<String, String> shown) {
        List<RelayConfig.AuthMechanism> m = a.mechanisms();
        String why;
        if (a.mechanism().isPresent()) {
            why = "set by " + prefix + "auth.mechanism";
        } else if (a.oauth2().isPresent()) {
            why = "OAuth 2.0 access tokens";
        } else if (a.preferred().isPresent()) {
            why = shown.getOrDefault(prefix + "preset", "the") + " preset";
        } else {
            why = "no preset or " + prefix + "auth.mechanism";
        }
        String otherwise = m.size() == 1 ? "the only one tried"
                : String.join(" or ", m.subList(1, m.size()).stream().map(Enum::name).toList())
                        + " if the server does not offer " + m.get(0).name();
        return a.username() + ", " + m.get(0).name() + " (" + why + "; " + otherwise + ")";
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
