package dev.tlsrelay;

import dev.tlsrelay.admin.AdminServer;
import dev.tlsrelay.admin.RelayMetrics;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.delivery.Delivery;
import dev.tlsrelay.delivery.PassThroughDelivery;
import dev.tlsrelay.delivery.QueueRunner;
import dev.tlsrelay.delivery.SpoolDelivery;
import dev.tlsrelay.inbound.LanMode;
import dev.tlsrelay.inbound.RelayServer;
import dev.tlsrelay.route.DailyCounts;
import dev.tlsrelay.route.RouteTable;
import dev.tlsrelay.spool.Spool;
import java.io.IOException;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running relay: listener, delivery, upstream client, audit log and admin endpoint wired from one
 * validated {@link RelayConfig}. What {@code tlsrelay run}, the demo and the tests start.
 */
public final class Relay implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    private volatile RelayConfig config;
    private volatile RouteTable routes;
    private final AuditLog audit;
    private final RelayServer server;
    private final Optional<Spool> spool;
    private final Optional<QueueRunner> runner;
    private final Clock clock;
    private Optional<AdminServer> admin = Optional.empty();

    private Relay(RelayConfig config, AuditLog audit, RelayServer server, RouteTable routes,
            Optional<Spool> spool, Optional<QueueRunner> runner, Clock clock) {
        this.config = config;
        this.clock = clock;
        this.audit = audit;
        this.server = server;
        this.routes = routes;
        this.spool = spool;
        this.runner = runner;
    }

    /**
     * Starts a relay. Prints each risky-setting warning once.
     *
     * @throws IOException if the spool is in use, or the audit file, listener or admin port unusable
     * @throws GeneralSecurityException if the trust anchors are unusable
     */
    public static Relay start(RelayConfig config) throws IOException, GeneralSecurityException {
        return start(config, Clock.systemUTC());
    }

    /**
     * Starts a relay that tells time by {@code clock}: route pacing and daily budgets, the spool's
     * schedule (due times, backoff, {@code spool.max-age}) and the audit lines it writes (queued,
     * relayed, deferred, dead, route.throttled), and audit file rotation; TLS handshake and
     * pass-through lines keep the system time. The system clock in production; tests pass a manual
     * clock to run minutes of pacing in seconds, and call {@code queue().get().wake()} after moving it
     * (otherwise the spool looks within a second).
     */
    public static Relay start(RelayConfig config, Clock clock) throws IOException, GeneralSecurityException {
        config.warnings().forEach(w -> log.warn("RISKY SETTING: {}", w));
        config.exampleSettings().forEach(s -> log.warn("{} = {} is an example value: replace it with your own"
                + " before relying on this relay", s.key().key(), s.shown()));
        // The spool first: a second relay on the same spool must fail on that, before touching anything.
        Spool spool = config.deliveryMode() == RelayConfig.DeliveryMode.SPOOL ? Spool.open(config.spool().dir()) : null;
        RelayConfig.Audit settings = config.audit();
        AuditLog audit;
        try {
            audit = AuditLog.open(settings.file(), new AuditLog.Options(settings.rotation(), settings.hmacKey(),
                    settings.redactionKey(), clock));
        } catch (IOException e) {
            if (spool != null) {
                spool.close();
            }
            throw e;
        }
        QueueRunner runner = null;
        RouteTable upstream = null;
        RelayServer server = null;
        try {
            // Daily budgets survive restarts where the relay keeps state (the spool directory).
            DailyCounts counts = spool != null ? DailyCounts.persistent(spool.dir().resolve("routes"))
                    : DailyCounts.inMemory();
            upstream = RouteTable.build(config, audit, clock, counts, Optional.empty());
            if (spool != null) {
                runner = new QueueRunner(spool, upstream, audit, config.spool(), config.listen().hostname(), clock);
                runner.start();
            }
            server = RelayServer.start(config.listen(), config.senders(),
                    delivery(config, upstream, audit, spool, runner, clock), LanMode.from(config, audit));
            Relay relay = new Relay(config, audit, server, upstream, Optional.ofNullable(spool),
                    Optional.ofNullable(runner), clock);
            relay.startAdmin();
            log.info(relay.banner());
            return relay;
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            if (server != null) {
                server.close();
            }
            if (runner != null) {
                runner.close();
            }
            if (upstream != null) {
                upstream.close();
            }
            if (spool != null) {
                spool.close();
            }
            audit.close();
            throw e;
        }
    }

    private static Delivery delivery(RelayConfig config, RouteTable routes, AuditLog audit, Spool spool,
            QueueRunner runner, Clock clock) {
        return spool != null
                ? new SpoolDelivery(spool, runner, audit, config.spool(), config.listen().hostname(), routes, clock)
                : new PassThroughDelivery(routes, audit, config.listen().hostname());
    }

    private void startAdmin() throws IOException {
        if (config.admin().address().isEmpty()) {
            return;
        }
        RelayMetrics metrics = new RelayMetrics(audit, server::activeSessions,
                () -> runner.map(QueueRunner::queued).orElse(0),
                () -> runner.map(QueueRunner::oldestAge).orElse(Duration.ZERO));
        metrics.watchRoutes(() -> routes.all().stream().map(RouteTable.Route::pacer).toList());
        admin = Optional.of(AdminServer.start(config.admin().address().get(), metrics, server::listening,
                this::spoolWritable));
    }

    private boolean spoolWritable() {
        if (spool.isEmpty()) {
            return true;
        }
        try {
            Spool s = spool.get();
            return Files.isWritable(s.dir().resolve("queue")) && s.freeSpace() >= config.spool().minFreeSpace();
        } catch (IOException e) {
            return false;
        }
    }

    /** The one-line startup summary. */
    String banner() {
        RelayConfig.Upstream u = config.upstream();
        String version = Optional.ofNullable(Relay.class.getPackage().getImplementationVersion()).orElse("dev");
        String named = config.routing().routes().isEmpty() ? ""
                : ", named routes " + config.routing().routes().stream()
                        .map(r -> r.name() + " -> " + r.upstream().routes()).toList();
        return String.format("tlsrelay %s listening on %s:%d, relaying to %s (%s+, verify %s, trust %s%s)%s, %s,"
                        + " audit in %s", version, config.listen().host().getHostAddress(), port(), u.routes(),
                u.tls().minVersion().protocolName(), u.tls().verify().configName(), u.tls().trust().describe(),
                u.auth().map(a -> ", AUTH as " + a.username() + a.oauth2().map(o -> " with OAuth 2.0 tokens ("
                        + o.grantType() + " grant at " + o.tokenUrl().getHost() + ")").orElse("")).orElse(""), named,
                spool.map(s -> "spool in " + s.dir()).orElse("pass-through"), config.audit().file());
    }

    /**
     * Applies a new configuration without dropping anything in flight: credentials, trust, pins,
     * smarthosts, pool and limits take effect for transactions and delivery attempts that start
     * from now on. Settings fixed at start (addresses, ports, delivery mode, spool, audit file) keep
     * their running values; each is named in the returned notes.
     *
     * @throws GeneralSecurityException if the new trust anchors are unusable (nothing is changed)
     */
    public synchronized List<String> reload(RelayConfig next) throws GeneralSecurityException {
        List<String> notes = new ArrayList<>();
        for (RelayConfig.Setting asked : next.settings()) {
            String key = asked.key().key();
            boolean fixed = RESTART_ONLY.stream().anyMatch(p -> p.endsWith(".") ? key.startsWith(p) : key.equals(p));
            Optional<RelayConfig.Setting> running = config.settings().stream().filter(r -> r.key() == asked.key())
                    .findFirst();
            if (fixed && running.isPresent() && !running.get().shown().equals(asked.shown())) {
                notes.add(key + " changed: it takes effect after a restart; the running value stays");
            }
        }
        RelayConfig.Listen now = config.listen();
        RelayConfig.Listen asked = next.listen();
        RelayConfig.Listen listen = new RelayConfig.Listen(now.host(), now.port(), now.hostname(),
                asked.allowedNetworks(), asked.maxMessageSize(), now.maxRecipients(), now.maxConnections(),
                now.timeout(), asked.drainTimeout(), asked.abuse());
        RelayConfig applied = new RelayConfig(listen, config.inboundTls(), config.inboundAuth(), next.senders(),
                config.deliveryMode(), config.spool(), next.upstream(), config.audit(), config.admin(),
                next.settings(), next.warnings(), next.routing());
        RouteTable old = routes;
        RouteTable fresh = old.reloaded(applied);
        runner.ifPresent(r -> r.useRoutes(fresh));
        server.update(listen, applied.senders(),
                delivery(applied, fresh, audit, spool.orElse(null), runner.orElse(null), clock));
        routes = fresh;
        config = applied;
        // Idle connections of the old client close now; busy ones when their transaction ends.
        old.close();
        applied.warnings().forEach(w -> log.warn("RISKY SETTING: {}", w));
        log.info("configuration reloaded: {}", banner());
        return notes;
    }

    /** Keys (and key prefixes ending in ".") that a reload cannot change: they shape what was started. */
    private static final List<String> RESTART_ONLY = List.of("listen.host", "listen.port", "listen.hostname",
            "listen.max-connections", "listen.max-recipients", "listen.timeout", "listen.tls.", "listen.auth.",
            "delivery.mode", "spool.", "audit.", "admin.");

    public RelayConfig config() {
        return config;
    }

    /** The listener's port (the real one when configured as 0). */
    public int port() {
        return server.port();
    }

    /** The admin endpoint's port, when enabled. */
    public Optional<Integer> adminPort() {
        return admin.map(AdminServer::port);
    }

    public AuditLog audit() {
        return audit;
    }

    /** The routes in use (those of the latest reload), with their pacers. */
    public RouteTable routes() {
        return routes;
    }

    /** The spool's delivery loop, in spool mode. */
    public Optional<QueueRunner> queue() {
        return runner;
    }

    /**
     * Graceful stop: new clients refused, in-flight transactions and delivery attempts get up to
     * listen.drain-timeout each; what is still queued stays in the spool for the next start.
     */
    public void drainAndStop() {
        server.drainAndStop(config.listen().drainTimeout());
        runner.ifPresent(r -> r.stop(config.listen().drainTimeout()));
        stopTheRest();
    }

    @Override
    public void close() {
        server.close();
        runner.ifPresent(QueueRunner::close);
        stopTheRest();
    }

    private void stopTheRest() {
        admin.ifPresent(AdminServer::close);
        routes.close();
        spool.ifPresent(s -> {
            try {
                s.close();
            } catch (IOException e) {
                log.warn("cannot release the spool lock: {}", e.getMessage());
            }
        });
        audit.close();
    }
}
