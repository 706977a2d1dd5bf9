package dev.tlsrelay.config;

import dev.tlsrelay.audit.AuditKey;
import dev.tlsrelay.audit.Rotation;
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

    /** The smarthost and how to reach it. */
    public record Upstream(
            String host,
            int port,
            TlsMode security,
            TlsPolicy tls,
            Optional<Credentials> auth,
            Duration timeout) {}

    /** SMTP AUTH credentials; the password never appears in {@link #toString()}. */
    public record Credentials(String username, Secret password) {}

    /** A secret string: {@code toString()} masks it so it cannot reach a log by accident. */
    public record Secret(String value) {
        @Override
        public String toString() {
            return "********";
        }
    }

    /**
     * Where audit records go and how they are protected.
     *
     * @param file         the active audit file; rotated files sit next to it
     * @param hmacKey      present: the chain is HMAC-SHA256 with this key, not bare SHA-256
     * @param redactionKey present exactly when addresses are written as keyed hashes
     */
    public record Audit(Path file, Rotation rotation, Optional<AuditKey> hmacKey, Optional<AuditKey> redactionKey) {}

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
