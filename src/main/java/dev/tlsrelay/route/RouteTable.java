package dev.tlsrelay.route;

import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.config.Routing;
import dev.tlsrelay.upstream.SmtpReply;
import dev.tlsrelay.upstream.UpstreamClient;
import dev.tlsrelay.upstream.UpstreamException;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every route of a running relay: the default upstream and the named routes, each with its own
 * {@link UpstreamClient} (own smarthosts, TLS policy, credentials and connection pool, so
 * {@code max-connections} holds per route) and its own {@link RoutePacer}. Delivery asks it which
 * route a recipient takes and reports upstream replies to it, so a throttling reply pauses the
 * route for every session.
 */
public final class RouteTable implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RouteTable.class);
    /** An upstream reply quoted inside the relay's own reply, e.g. "... (432 4.3.2 sender thread ...)". */
    private static final Pattern QUOTED_REPLY = Pattern.compile("\\b([45][0-9]{2})[ -]([245]\\.[0-9]{1,3}\\.[0-9]{1,3}[^)]*)");

    /** One route: where it goes and its budget. */
    public record Route(String name, UpstreamClient client, RoutePacer pacer) {
        public Routing.Limits limits() {
            return pacer.limits();
        }
    }

    private final Map<String, Route> routes;
    private final Router router;
    private final AuditLog audit;
    private final Clock clock;
    private final DailyCounts counts;

    private RouteTable(Map<String, Route> routes, Router router, AuditLog audit, Clock clock, DailyCounts counts) {
        this.routes = routes;
        this.router = router;
        this.audit = audit;
        this.clock = clock;
        this.counts = counts;
    }

    /**
     * Opens a client per route. Pacers of routes that exist in {@code previous} (a reload) are kept
     * with the new limits, so a reload neither resets a daily budget nor lifts a backoff.
     *
     * @throws GeneralSecurityException if some route's trust anchors are unusable (nothing is opened)
     */
    public static RouteTable build(RelayConfig config, AuditLog audit, Clock clock, DailyCounts counts,
            Optional<RouteTable> previous) throws GeneralSecurityException {
        Map<String, Route> out = new LinkedHashMap<>();
        String helo = config.listen().hostname();
        try {
            out.put(Routing.DEFAULT, route(Routing.DEFAULT, new UpstreamClient(config.upstream(), helo, audit),
                    config.routing().defaultLimits(), clock, counts, previous));
            for (Routing.NamedRoute r : config.routing().routes()) {
                out.put(r.name(), route(r.name(), new UpstreamClient(r.upstream(), helo, audit), r.limits(), clock,
                        counts, previous));
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            out.values().forEach(r -> r.client().close());
            throw e;
        }
        return new RouteTable(out, new Router(config.routing()), audit, clock, counts);
    }

    /**
     * The routes of a reloaded configuration, keeping this table's budgets (daily counts, rate
     * slots, backoffs) for routes that still exist. This table stays usable for transactions in
     * flight; close it afterwards.
     */
    public RouteTable reloaded(RelayConfig next) throws GeneralSecurityException {
        return build(next, audit, clock, counts, Optional.of(this));
    }

    /** One unlimited default route around an existing client (send-test). */
    public static RouteTable single(UpstreamClient client, AuditLog audit) {
        Map<String, Route> out = new LinkedHashMap<>();
        out.put(Routing.DEFAULT, new Route(Routing.DEFAULT, client,
                new RoutePacer(Routing.DEFAULT, Routing.Limits.NONE, Clock.systemUTC(), DailyCounts.inMemory())));
        return new RouteTable(out, new Router(Routing.none()), audit, Clock.systemUTC(), DailyCounts.inMemory());
    }

    private static Route route(String name, UpstreamClient client, Routing.Limits limits, Clock clock,
            DailyCounts counts, Optional<RouteTable> previous) {
        RoutePacer pacer = previous.map(p -> p.routes.get(name)).map(Route::pacer).orElse(null);
        if (pacer == null) {
            pacer = new RoutePacer(name, limits, clock, counts);
        } else {
            pacer.limits(limits);
        }
        return new Route(name, client, pacer);
    }

    public Router router() {
        return router;
    }

    /** The route one recipient of a message takes. */
    public Route choose(String sender, String recipient, String clientAddress) {
        return route(router.choose(sender, recipient, clientAddress).route());
    }

    public Route route(String name) {
        Route r = routes.get(name);
        if (r == null) {
            throw new IllegalArgumentException("no route " + name);
        }
        return r;
    }

    /** Every route, default first. */
    public List<Route> all() {
        return List.copyOf(routes.values());
    }

    /**
     * Looks at one upstream reply: a "slow down" pauses the route for everyone, is audited as
     * {@code route.throttled} and returned; anything else is not.
     */
    public Optional<ThrottleReplies.Entry> observe(Route route, SmtpReply reply, String sessionId) {
        Optional<ThrottleReplies.Entry> e = ThrottleReplies.classify(reply);
        if (e.isEmpty()) {
            if (reply.isPositive()) {
                route.pacer().succeeded();
            }
            return e;
        }
        Instant until = route.pacer().throttled(e.get().kind());
        audit.write(new AuditEvent.RouteThrottled(route.pacer().clock().instant(), sessionId, route.name(),
                reply.line(), e.get().kind().auditName(), until));
        log.warn("[{}] route {} throttled by the upstream ({}): {}; every session waits until {}", sessionId,
                route.name(), e.get().kind().auditName(), audit.addressDisplay().text(reply.line()), until);
        return e;
    }

    /** Like {@link #observe} for a failure to open or use a connection, whose reply quotes the upstream's. */
    public Optional<ThrottleReplies.Entry> observe(Route route, UpstreamException failure, String sessionId) {
        Matcher m = QUOTED_REPLY.matcher(failure.clientReply().text());
        if (!m.find()) {
            return Optional.empty();
        }
        return observe(route, new SmtpReply(Integer.parseInt(m.group(1)), m.group(2).strip()), sessionId);
    }

    /** Closes every route's idle connections. */
    @Override
    public void close() {
        routes.values().forEach(r -> r.client().close());
    }
}
