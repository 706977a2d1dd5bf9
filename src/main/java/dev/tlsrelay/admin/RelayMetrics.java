package dev.tlsrelay.admin;

import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.route.RoutePacer;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.tls.TlsNegotiation;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The relay's numbers in Prometheus form, fed by the audit events (so metrics and audit can never
 * disagree) plus a few gauges read when scraped. Also remembers the last upstream outcome for
 * {@code /healthz}.
 */
public final class RelayMetrics {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<String, Instant> certificateExpiry = new ConcurrentHashMap<>();
    private volatile Optional<UpstreamStatus> lastUpstream = Optional.empty();

    /**
     * The outcome of the most recent upstream TLS negotiation.
     *
     * @param failure the audit failure code, when it failed
     */
    public record UpstreamStatus(Instant at, String peer, boolean ok, Optional<String> failure) {}

    /**
     * @param activeSessions client sessions open now
     * @param spoolDepth     messages queued now (0 in pass-through)
     * @param oldestQueued   age of the oldest queued message
     */
    public RelayMetrics(AuditLog audit, Supplier<Integer> activeSessions, Supplier<Integer> spoolDepth,
            Supplier<Duration> oldestQueued) {
        Gauge.builder("tlsrelay_sessions_active", activeSessions, s -> s.get())
                .description("client sessions open now").register(registry);
        Gauge.builder("tlsrelay_spool_messages", spoolDepth, s -> s.get())
                .description("messages waiting in the spool").register(registry);
        Gauge.builder("tlsrelay_spool_oldest_seconds", oldestQueued, s -> s.get().toSeconds())
                .description("age of the oldest message in the spool").register(registry);
        audit.addListener(this::record);
    }

    private void record(AuditEvent event) {
        switch (event) {
            case AuditEvent.Handshake h -> handshake(h.negotiation());
            case AuditEvent.Message m -> {
                counter("tlsrelay_messages_total", "outcome", m.relayed() ? "relayed" : "failed").increment();
                m.route().ifPresent(r -> Counter.builder("tlsrelay_route_messages_total")
                        .description("messages (or parts of split messages) by route and outcome")
                        .tag("route", r).tag("outcome", m.relayed() ? "relayed" : "failed")
                        .register(registry).increment());
                m.upstreamTime().ifPresent(d -> Timer.builder("tlsrelay_upstream_seconds")
                        .description("from asking for an upstream connection to its final reply")
                        .publishPercentileHistogram().register(registry).record(d));
            }
            case AuditEvent.Queued q -> counter("tlsrelay_messages_total", "outcome", "queued").increment();
            case AuditEvent.Deferred d -> counter("tlsrelay_messages_total", "outcome", "deferred").increment();
            case AuditEvent.Dead d -> counter("tlsrelay_messages_total", "outcome", "dead").increment();
            case AuditEvent.RouteThrottled t -> counter("tlsrelay_route_throttled_total", "route", t.route())
                    .increment();
        }
    }

    /**
     * Per-route sending budget, read when scraped: recipients left today (NaN without a daily limit)
     * and seconds until the route may send again (0 when it may now; rate pacing and throttling
     * backoff both count). Routes are looked up by name at each scrape, so a reload is followed.
     */
    public void watchRoutes(Supplier<List<RoutePacer>> pacers) {
        for (RoutePacer p : pacers.get()) {
            String name = p.route();
            Gauge.builder("tlsrelay_route_recipients_left_today", pacers, s -> pacer(s, name)
                            .flatMap(RoutePacer::recipientsLeftToday).map(Long::doubleValue).orElse(Double.NaN))
                    .description("recipients the route may still send to today").tag("route", name)
                    .register(registry);
            Gauge.builder("tlsrelay_route_seconds_until_ready", pacers, s -> pacer(s, name)
                            .map(x -> x.untilReady(1).toMillis() / 1000.0).orElse(Double.NaN))
                    .description("seconds until the route may send its next message").tag("route", name)
                    .register(registry);
        }
    }

    private static Optional<RoutePacer> pacer(Supplier<List<RoutePacer>> pacers, String name) {
        return pacers.get().stream().filter(p -> p.route().equals(name)).findFirst();
    }

    private void handshake(TlsNegotiation n) {
        Counter.builder("tlsrelay_tls_handshakes_total")
                .description("TLS negotiations by direction, outcome, protocol and failure code")
                .tag("direction", n.direction().name().toLowerCase(Locale.ROOT))
                .tag("outcome", n.ok() ? "ok" : "failed")
                .tag("protocol", n.protocol().orElse("none"))
                .tag("failure", n.failure().map(FailureCode::auditName).orElse("none"))
                .register(registry).increment();
        if (n.direction() != TlsNegotiation.Direction.UPSTREAM) {
            return;
        }
        if (n.ok()) {
            Timer.builder("tlsrelay_tls_handshake_seconds").description("upstream TLS handshake duration")
                    .publishPercentileHistogram().register(registry).record(n.handshake());
        }
        String peer = n.peerHost() + ":" + n.peerPort();
        lastUpstream = Optional.of(new UpstreamStatus(n.at(), peer, n.ok(),
                n.failure().map(FailureCode::auditName)));
        n.leaf().ifPresent(c -> {
            if (certificateExpiry.put(peer, c.notAfter()) == null) {
                Gauge.builder("tlsrelay_upstream_certificate_expiry_days", certificateExpiry,
                                m -> Duration.between(Instant.now(), m.getOrDefault(peer, Instant.now())).toHours() / 24.0)
                        .description("days until the upstream certificate last seen expires: alert well before 0")
                        .tag("upstream", peer).register(registry);
            }
        });
    }

    private Counter counter(String name, String tag, String value) {
        return Counter.builder(name).tag(tag, value).register(registry);
    }

    /** The Prometheus text exposition. */
    public String scrape() {
        return registry.scrape();
    }

    public Optional<UpstreamStatus> lastUpstream() {
        return lastUpstream;
    }
}
