package dev.tlsrelay.config;

import java.time.Duration;
import java.util.List;

/**
 * Named routes besides the default upstream, and the sending limits of each. The first named route
 * whose selectors all match a message's sender, recipient and client takes it; none matching, the
 * default upstream ({@code upstream.*}, route name {@value #DEFAULT}) does.
 *
 * @param routes        in configuration order, which is the order they are tried
 * @param defaultLimits the limits of the default upstream
 */
public record Routing(List<NamedRoute> routes, Limits defaultLimits) {

    /** The name the default upstream has in the audit and in {@code tlsrelay route}. */
    public static final String DEFAULT = "default";

    public Routing {
        routes = List.copyOf(routes);
    }

    /** Only the default upstream, without limits. */
    public static Routing none() {
        return new Routing(List.of(), Limits.NONE);
    }

    /**
     * One {@code route.NAME.*} definition: its own smarthosts, TLS policy, credentials and limits.
     * A named route inherits nothing from {@code upstream.*}: credentials meant for one provider
     * must never be offered to another.
     *
     * @param settings its keys with effective values and origins, for check-config
     */
    public record NamedRoute(String name, Selectors selectors, RelayConfig.Upstream upstream, Limits limits,
            List<RouteSetting> settings) {
        public NamedRoute {
            settings = List.copyOf(settings);
        }
    }

    /**
     * What a route takes; every selector that is set must match (an empty list matches anything).
     *
     * @param senders          envelope senders: addresses ({@code scans@corp.test}) or {@code @domain}
     * @param recipientDomains recipient domains, matched exactly (case-insensitively)
     * @param clients          client networks
     */
    public record Selectors(List<String> senders, List<String> recipientDomains, List<Cidr> clients) {
        public Selectors {
            senders = List.copyOf(senders);
            recipientDomains = List.copyOf(recipientDomains);
            clients = List.copyOf(clients);
        }
    }

    /**
     * How much one route may send. Zero means no limit of that kind.
     *
     * @param messagesPerMinute       messages handed to the upstream per minute, evenly spaced
     * @param recipientsPerDay        recipients per UTC day
     * @param maxMessageSize          bytes; larger messages are refused with 552 5.3.4 before any upstream
     *                                connection
     * @param maxRecipientsPerMessage recipients in one upstream transaction
     * @param maxWait                 pass-through: how long a message over the rate may wait before 451
     * @param throttleBackoff         the first pause after the upstream says "slow down"
     */
    public record Limits(int messagesPerMinute, long recipientsPerDay, long maxMessageSize,
            int maxRecipientsPerMessage, Duration maxWait, Duration throttleBackoff) {

        public static final Limits NONE = new Limits(0, 0, 0, 0, Duration.ofSeconds(10), Duration.ofSeconds(60));
    }

    /** One route key with its effective value and where it came from (secrets masked). */
    public record RouteSetting(String key, String shown, RelayConfig.Origin origin) {}
}
