package dev.tlsrelay;

import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.delivery.Delivery;
import dev.tlsrelay.delivery.PassThroughDelivery;
import dev.tlsrelay.delivery.QueueRunner;
import dev.tlsrelay.delivery.SpoolDelivery;
import dev.tlsrelay.spool.Spool;
import dev.tlsrelay.inbound.LanMode;
import dev.tlsrelay.inbound.RelayServer;
import dev.tlsrelay.upstream.UpstreamClient;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running relay: listener, delivery, upstream client and audit log wired from one validated
 * {@link RelayConfig}. What {@code tlsrelay run}, the demo and the tests start.
 */
public final class Relay implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    private final RelayConfig config;
    private final AuditLog audit;
    private final RelayServer server;
    private final Optional<Spool> spool;
    private final Optional<QueueRunner> runner;

    private Relay(RelayConfig config, AuditLog audit, RelayServer server, Optional<Spool> spool,
            Optional<QueueRunner> runner) {
        this.config = config;
        this.audit = audit;
        this.server = server;
        this.spool = spool;
        this.runner = runner;
    }

    /** The spool's delivery loop, in spool mode. */
    public Optional<QueueRunner> queue() {
        return runner;
    }

    /**
     * Starts a relay. Prints each risky-setting warning once.
     *
     * @throws IOException if the audit file cannot be opened or the listener cannot bind
     * @throws GeneralSecurityException if the trust anchors are unusable
     */
    public static Relay start(RelayConfig config) throws IOException, GeneralSecurityException {
        config.warnings().forEach(w -> log.warn("RISKY SETTING: {}", w));
        config.exampleSettings().forEach(s -> log.warn("{} = {} is an example value: replace it with your own"
                + " before relying on this relay", s.key().key(), s.shown()));
        // The spool first: a second relay on the same spool must fail on that, before touching anything.
        Spool spool = config.deliveryMode() == RelayConfig.DeliveryMode.SPOOL ? Spool.open(config.spool().dir()) : null;
        AuditLog audit;
        try {
            audit = AuditLog.open(config.audit().file());
        } catch (IOException e) {
            if (spool != null) {
                spool.close();
            }
            throw e;
        }
        QueueRunner runner = null;
        try {
            UpstreamClient upstream = new UpstreamClient(config.upstream(), config.listen().hostname(), audit);
            Delivery delivery;
            if (spool != null) {
                runner = new QueueRunner(spool, upstream, audit, config.spool(), config.listen().hostname());
                delivery = new SpoolDelivery(spool, runner, audit, config.spool(), config.listen().maxMessageSize(),
                        config.listen().hostname());
                runner.start();
            } else {
                delivery = new PassThroughDelivery(upstream, audit, config.listen().maxMessageSize(),
                        config.listen().hostname());
            }
            RelayServer server = RelayServer.start(config.listen(), delivery, LanMode.from(config, audit));
            RelayConfig.Upstream u = config.upstream();
            log.info("relaying to {} ({}+, verify {}, trust {}{}), {}, audit in {}", u.routes(),
                    u.tls().minVersion().protocolName(), u.tls().verify().configName(),
                    u.tls().trust().describe(), u.auth().map(a -> ", AUTH as " + a.username()).orElse(""),
                    spool == null ? "pass-through" : "spool in " + spool.dir(), config.audit().file());
            return new Relay(config, audit, server, Optional.ofNullable(spool), Optional.ofNullable(runner));
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            if (runner != null) {
                runner.close();
            }
            if (spool != null) {
                spool.close();
            }
            audit.close();
            throw e;
        }
    }

    public RelayConfig config() {
        return config;
    }

    /** The listener's port (the real one when configured as 0). */
    public int port() {
        return server.port();
    }

    public AuditLog audit() {
        return audit;
    }

    /**
     * Graceful stop: new clients refused, in-flight transactions and delivery attempts get up to
     * listen.drain-timeout each; what is still queued stays in the spool for the next start.
     */
    public void drainAndStop() {
        server.drainAndStop(config.listen().drainTimeout());
        runner.ifPresent(r -> r.stop(config.listen().drainTimeout()));
        closeSpool();
        audit.close();
    }

    @Override
    public void close() {
        server.close();
        runner.ifPresent(QueueRunner::close);
        closeSpool();
        audit.close();
    }

    private void closeSpool() {
        spool.ifPresent(s -> {
            try {
                s.close();
            } catch (IOException e) {
                log.warn("cannot release the spool lock: {}", e.getMessage());
            }
        });
    }
}
