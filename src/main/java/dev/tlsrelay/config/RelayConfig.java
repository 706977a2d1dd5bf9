package dev.tlsrelay.config;

import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.InboundTlsVersion;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsPolicy;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The whole validated configuration of a relay, immutable. Built only by {@link ConfigLoader}: if
 * one exists, every value in it has been checked.
 *
 * @param settings every key with its effective value and origin, secrets masked (for check-config)
 * @param warnings risky but allowed settings, each in plain words, printed once at start
 */
public record RelayConfig(
        Listen listen,
        Optional<InboundTls> inboundTls,
        Optional<InboundAuth> inboundAuth,
        DeliveryMode deliveryMode,
        Spool spool,
        Upstream upstream,
        Audit audit,
        List<Setting> settings,
        List<String> warnings) {

    public RelayConfig {
        settings = List.copyOf(settings);
        warnings = List.copyOf(warnings);
    }

    /** The legacy-side SMTP listener. */
    public record Listen(
            InetAddress host,
            int port,
            String hostname,
            List<Cidr> allowedNetworks,
            long maxMessageSize,
            int maxRecipients,
            int maxConnections,
            Duration timeout,
            Duration drainTimeout) {

        public Listen {
            allowedNetworks = List.copyOf(allowedNetworks);
        }

        /** The same listener on another port (the demo and tests use this). */
        public Listen withPort(int newPort) {
            return new Listen(host, newPort, hostname, allowedNetworks, maxMessageSize, maxRecipients,
                    maxConnections, timeout, drainTimeout);
        }
    }

    /**
     * LAN mode: STARTTLS offered to devices.
     *
     * @param identity   the certificate chain and key devices are shown
     * @param minVersion the oldest version a device may use; below TLS 1.2 only on this side
     */
    public record InboundTls(HeldCertificate identity, InboundTlsVersion minVersion) {}

    /**
     * LAN mode: SMTP AUTH (PLAIN, LOGIN) for devices.
     *
     * @param usersFile      {@code user:hash} lines, re-read when the file changes
     * @param required       MAIL without a successful AUTH gets 530 5.7.0
     * @param allowPlaintext AUTH is offered before STARTTLS too
     */
    public record InboundAuth(Path usersFile, boolean required, boolean allowPlaintext) {}

    /**
     * The smarthosts and how to reach them.
     *
     * @param routes tried in order until one takes the connection; never empty
     */
    public record Upstream(
            List<Route> routes,
            TlsPolicy tls,
            Optional<Credentials> auth,
            Duration timeout) {

        public Upstream {
            routes = List.copyOf(routes);
        }

        /** The first (preferred) route. */
        public Route primary() {
            return routes.get(0);
        }
    }

    /** One smarthost: host name (what its certificate must name), port and how TLS starts. */
    public record Route(String host, int port, TlsMode security) {
        @Override
        public String toString() {
            return host + ":" + port + "/" + security.configName();
        }
    }

    /** How messages leave: straight through, or through the durable spool. */
    public enum DeliveryMode {
        /** The client waits for the upstream and gets its reply; nothing is stored. */
        PASS_THROUGH,
        /** The client gets 250 once the message is on disk; the relay delivers it with retries. */
        SPOOL;

        public String configName() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * The durable queue.
     *
     * @param bounce send a delivery status notification to the sender of a dead letter
     */
    public record Spool(
            Path dir,
            int workers,
            Duration retryInitial,
            Duration retryMaxInterval,
            Duration maxAge,
            boolean bounce,
            int maxMessages,
            long minFreeSpace) {}

    /** SMTP AUTH credentials; the password never appears in {@link #toString()}. */
    public record Credentials(String username, Secret password) {}

    /** A secret string: {@code toString()} masks it so it cannot reach a log by accident. */
    public record Secret(String value) {
        @Override
        public String toString() {
            return "********";
        }
    }

    /** Where audit records go. */
    public record Audit(Path file) {}

    /** Where a key's effective value came from. */
    public enum Origin {
        DEFAULT,
        FILE,
        ENVIRONMENT,
        UNSET
    }

    /**
     * One key's effective value, as shown to people.
     *
     * @param shown   the value, or {@code ********} for secrets
     * @param example true when the value is a documentation placeholder the user must replace
     */
    public record Setting(Key key, String shown, Origin origin, boolean example) {}

    /** Settings that still hold example values, which a real deployment must replace. */
    public List<Setting> exampleSettings() {
        return settings.stream().filter(Setting::example).toList();
    }
}
