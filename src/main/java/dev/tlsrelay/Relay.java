package dev.tlsrelay;

import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.delivery.PassThroughDelivery;
import dev.tlsrelay.inbound.RelayServer;
import dev.tlsrelay.upstream.UpstreamClient;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Clock;
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

    private Relay(RelayConfig config, AuditLog audit, RelayServer server) {
        this.config = config;
        this.audit = audit;
        this.server = server;
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
        RelayConfig.Audit settings = config.audit();
        AuditLog audit = AuditLog.open(settings.file(),
                new AuditLog.Options(settings.rotation(), settings.hmacKey(), settings.redactionKey(), Clock.systemUTC()));
        try {
            UpstreamClient upstream = new UpstreamClient(config.upstream(), config.listen().hostname(), audit);
            PassThroughDelivery delivery = new PassThroughDelivery(upstream, audit,
                    config.listen().maxMessageSize(), config.listen().hostname());
            RelayServer server = RelayServer.start(config.listen(), delivery);
            RelayConfig.Upstream u = config.upstream();
            log.info("relaying to {}:{} over {} ({}+, verify {}, trust {}{}), audit in {}", u.host(), u.port(),
                    u.security().configName(), u.tls().minVersion().protocolName(), u.tls().verify().configName(),
                    u.tls().trust().describe(), u.auth().map(a -> ", AUTH as " + a.username()).orElse(""),
                    config.audit().file());
            return new Relay(config, audit, server);
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
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

    /** Graceful stop: new clients refused, in-flight transactions get up to listen.drain-timeout. */
    public void drainAndStop() {
        server.drainAndStop(config.listen().drainTimeout());
        audit.close();
    }

    @Override
    public void close() {
        server.close();
        audit.close();
    }
}
