package dev.tlsrelay.config;

import dev.tlsrelay.audit.AuditKey;
import dev.tlsrelay.audit.Rotation;
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
 * @param routing  named routes besides {@code upstream}, and every route's sending limits
 */
public record RelayConfig(
        Listen listen,
        Optional<InboundTls> inboundTls,
        Optional<InboundAuth> inboundAuth,
        SenderPolicy senders,
        DeliveryMode deliveryMode,
        Spool spool,
        Upstream upstream,
        Audit audit,
        Admin admin,
        List<Setting> settings,
        List<String> warnings,
        Routing routing) {

    public RelayConfig {
        settings = List.copyOf(settings);
        warnings = List.copyOf(warnings);
    }

    /** A configuration with the default upstream only. */
    public RelayConfig(Listen listen, Optional<InboundTls> inboundTls, Optional<InboundAuth> inboundAuth,
            SenderPolicy senders, DeliveryMode deliveryMode, Spool spool, Upstream upstream, Audit audit, Admin admin,
            List<Setting> settings, List<String> warnings) {
        this(listen, inboundTls, inboundAuth, senders, deliveryMode, spool, upstream, audit, admin, settings, warnings,
                Routing.none());
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
            Duration drainTimeout,
            Abuse abuse) {

        public Listen {
            allowedNetworks = List.copyOf(allowedNetworks);
        }
    }

    /**
     * Limits that keep a listener serving under garbage, floods and slow clients.
     *
     * @param ratePerIp new connections per minute from one address
     */
    public record Abuse(
            BareNewline bareNewline,
            int maxLineLength,
            int maxCommands,
            int maxErrors,
            int maxConnectionsPerIp,
            int ratePerIp,
            Duration maxSessionDuration) {}

    /** What happens to a bare CR or LF in a message body. Neither ever reaches the upstream as such. */
    public enum BareNewline {
        /** Refuse the message with 550 5.6.0. */
        REJECT,
        /** Turn it into CRLF. */
        NORMALIZE
    }

    /**
     * Which envelope senders may use the relay, and what the upstream sees as sender.
     *
     * @param allowed         addresses ({@code scanner@corp.test}) and domains ({@code corp.test}); empty: any
     * @param rewriteFrom     replaces every envelope sender (providers refuse senders other than the account)
     * @param rewriteHeaderFrom also rewrite the From: header, keeping the original in Reply-To
     */
    public record SenderPolicy(List<String> allowed, Optional<String> rewriteFrom, boolean rewriteHeaderFrom) {
        public SenderPolicy {
            allowed = List.copyOf(allowed);
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
            Duration timeout,
            Pool pool) {

        public Upstream {
            routes = List.copyOf(routes);
        }

        /** The first (preferred) route. */
        public Route primary() {
            return routes.get(0);
        }
    }

    /**
     * Reuse of verified, authenticated upstream connections.
     *
     * @param maxConnections open at once, busy or idle
     * @param maxMessagesPerConnection after this many messages a connection is closed (1: no reuse)
     */
    public record Pool(int maxConnections, Duration idleTimeout, int maxMessagesPerConnection) {}

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

    /**
     * How the relay logs in to the upstream (SMTP AUTH, only ever inside TLS): with a password
     * (PLAIN, LOGIN) or with OAuth 2.0 access tokens (XOAUTH2). Secrets never appear in {@link #toString()}.
     *
     * @param username  the account: the AUTH user, or the mailbox XOAUTH2 names in {@code user=}
     * @param password  for PLAIN and LOGIN; empty with OAuth 2.0
     * @param oauth2    where XOAUTH2 tokens come from; empty with a password
     * @param mechanism the one mechanism to use ({@code upstream.auth.mechanism}); empty: the first
     *                  of {@link #mechanisms()} the server offers
     * @param preferred with a password and no {@code mechanism}: the one the provider documents
     *                  (from {@code upstream.preset}), tried before the other password mechanism
     */
    public record Credentials(String username, Optional<Secret> password, Optional<OAuth2> oauth2,
            Optional<AuthMechanism> mechanism, Optional<AuthMechanism> preferred) {

        public Credentials {
            if (password.isPresent() == oauth2.isPresent()) {
                throw new IllegalArgumentException("credentials are a password or OAuth 2.0, exactly one");
            }
            if (preferred.isPresent() && (mechanism.isPresent() || oauth2.isPresent())) {
                throw new IllegalArgumentException("a preferred mechanism is for a password without an explicit one");
            }
        }

        /** A password, with the mechanism chosen from what the server offers. */
        public Credentials(String username, Secret password) {
            this(username, Optional.of(password), Optional.empty(), Optional.empty(), Optional.empty());
        }

        /**
         * The mechanisms these credentials may be sent with, in the order tried: XOAUTH2 with OAuth
         * 2.0 (a token that expires, not a password); with a password the preset's mechanism first,
         * else PLAIN then LOGIN (both carry the same password inside TLS, so the order weakens nothing).
         */
        public List<AuthMechanism> mechanisms() {
            if (mechanism.isPresent()) {
                return List.of(mechanism.get());
            }
            if (oauth2.isPresent()) {
                return List.of(AuthMechanism.XOAUTH2);
            }
            List<AuthMechanism> out = new java.util.ArrayList<>(List.of(AuthMechanism.PLAIN, AuthMechanism.LOGIN));
            preferred.ifPresent(p -> {
                out.remove(p);
                out.add(0, p);
            });
            return List.copyOf(out);
        }
    }

    /** The SASL mechanisms the relay authenticates upstream with. */
    public enum AuthMechanism {
        PLAIN,
        LOGIN,
        /** An OAuth 2.0 bearer token, as Google and Microsoft take it for SMTP. */
        XOAUTH2;

        /** The configuration spelling: {@code plain}, {@code login}, {@code xoauth2}. */
        public String configName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * Where the XOAUTH2 access tokens come from: an OAuth 2.0 token endpoint, asked with the client
     * credentials grant (no refresh token file) or the refresh token grant.
     *
     * @param tokenUrl         the provider's token endpoint, https
     * @param clientId         the application (client) id registered with the provider
     * @param clientSecret     sent with each token request when present (client credentials; Google)
     * @param scope            the scope asked for (client credentials need one)
     * @param refreshTokenFile present: the refresh token grant, with the token read from this file
     *                         before each refresh and written back when the provider rotates it
     * @param https            how the token endpoint's certificate is verified
     * @param refreshBefore    a cached token is replaced this long before it expires (at most half
     *                         its lifetime)
     */
    public record OAuth2(java.net.URI tokenUrl, String clientId, Optional<Secret> clientSecret, Optional<String> scope,
            Optional<Path> refreshTokenFile, TlsPolicy https, Duration refreshBefore) {

        /** The grant as OAuth names it: {@code refresh_token} or {@code client_credentials}. */
        public String grantType() {
            return refreshTokenFile.isPresent() ? "refresh_token" : "client_credentials";
        }
    }

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

    /** The health and metrics endpoint, if enabled. */
    public record Admin(Optional<java.net.InetSocketAddress> address) {}

    /** Where a key's effective value came from. */
    public enum Origin {
        DEFAULT,
        FILE,
        ENVIRONMENT,
        /** From {@code upstream.preset} (or {@code route.NAME.preset}). */
        PRESET,
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
