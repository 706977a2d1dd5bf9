package dev.tlsrelay.config;

import java.util.Locale;
import java.util.Optional;

/**
 * Every configuration key, its default and what it means. The shipped {@code conf/tlsrelay.properties}
 * documents the same keys (a test keeps the two in step); {@code check-config} prints them all.
 */
public enum Key {
    LISTEN_HOST("listen.host", "127.0.0.1", "address the SMTP listener binds to"),
    LISTEN_PORT("listen.port", "2525", "port of the SMTP listener"),
    LISTEN_HOSTNAME("listen.hostname", "tlsrelay", "name the relay gives in its greeting and Received: header"),
    LISTEN_ALLOWED_NETWORKS("listen.allowed-networks", "127.0.0.0/8, ::1/128",
            "CIDR list of clients allowed to connect; others get 554 5.7.1"),
    LISTEN_MAX_MESSAGE_SIZE("listen.max-message-size", "25MiB", "largest message accepted (552 5.3.4 above it)"),
    LISTEN_MAX_RECIPIENTS("listen.max-recipients", "100", "recipients per message (452 4.5.3 above it)"),
    LISTEN_MAX_CONNECTIONS("listen.max-connections", "100", "concurrent client connections (421 above it)"),
    LISTEN_TIMEOUT("listen.timeout", "60s", "idle time allowed between client commands or data"),
    LISTEN_DRAIN_TIMEOUT("listen.drain-timeout", "30s",
            "on shutdown, how long in-flight sessions may run before they are cut"),
    LISTEN_TLS_CERT_FILE("listen.tls.cert-file", null,
            "PEM certificate chain offered to devices with STARTTLS; empty: no inbound STARTTLS"),
    LISTEN_TLS_KEY_FILE("listen.tls.key-file", null, "PEM private key (unencrypted) of listen.tls.cert-file"),
    LISTEN_TLS_MIN_VERSION("listen.tls.min-version", "TLSv1.2",
            "oldest TLS version devices may use: TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3 (inbound side only)"),
    LISTEN_AUTH_USERS_FILE("listen.auth.users-file", null,
            "file of user:hash lines written by tlsrelay passwd; empty: no inbound AUTH"),
    LISTEN_AUTH_REQUIRED("listen.auth.required", "false", "true: MAIL without AUTH gets 530 5.7.0"),
    LISTEN_AUTH_ALLOW_PLAINTEXT("listen.auth.allow-plaintext", "false",
            "true: offer AUTH before STARTTLS too (passwords in clear: for devices on this machine only)"),
    LISTEN_BARE_NEWLINE("listen.bare-newline", "reject",
            "reject (550 5.6.0) or normalize a bare CR or LF in a message body; never passed on"),
    LISTEN_MAX_LINE_LENGTH("listen.max-line-length", "1000", "longest message line, CRLF included (500 5.5.2 above it)"),
    LISTEN_MAX_COMMANDS("listen.max-commands", "1000", "commands in one client session (421 and disconnect above it)"),
    LISTEN_MAX_ERRORS("listen.max-errors", "10", "error replies in one session before the client is disconnected"),
    LISTEN_MAX_CONNECTIONS_PER_IP("listen.max-connections-per-ip", "10", "concurrent connections from one address"),
    LISTEN_RATE_PER_IP("listen.rate-per-ip", "60", "new connections per minute from one address (421 above it)"),
    LISTEN_MAX_SESSION_DURATION("listen.max-session-duration", "30m",
            "longest client session, however active (slow-drip defence)"),
    RELAY_ALLOWED_SENDERS("relay.allowed-senders", null,
            "envelope senders allowed: addresses and/or domains, comma-separated; empty: any (553 5.7.1 otherwise)"),
    RELAY_REWRITE_FROM("relay.rewrite-from", null,
            "replace every envelope sender with this address (the account the upstream authenticates)"),
    RELAY_REWRITE_HEADER_FROM("relay.rewrite-header-from", "false",
            "with relay.rewrite-from: also rewrite the From: header, keeping the original as Reply-To"),
    DELIVERY_MODE("delivery.mode", "spool",
            "spool (250 once safely on disk, then delivered with retries) or pass-through (the upstream's own reply)"),
    SPOOL_DIR("spool.dir", "spool", "directory of the durable queue (queue/, dead/, tmp/)"),
    SPOOL_WORKERS("spool.workers", "4", "messages delivered from the spool at the same time"),
    SPOOL_RETRY_INITIAL("spool.retry.initial", "1m", "wait before the first retry; doubled per attempt, with jitter"),
    SPOOL_RETRY_MAX_INTERVAL("spool.retry.max-interval", "1h", "longest wait between two attempts"),
    SPOOL_MAX_AGE("spool.max-age", "5d", "give up (dead letter) on a message this old"),
    SPOOL_BOUNCE("spool.bounce", "false", "true: send a delivery status notification to the sender of a dead letter"),
    SPOOL_MAX_MESSAGES("spool.max-messages", "10000", "queued messages above which new ones get 452 4.3.1"),
    SPOOL_MIN_FREE_SPACE("spool.min-free-space", "100MiB", "free disk below which new messages get 452 4.3.1"),
    UPSTREAM_HOST("upstream.host", null, "smarthost name; verified against its certificate"),
    UPSTREAM_HOSTS("upstream.hosts", null,
            "instead of upstream.host: smarthosts tried in order, HOST[:PORT][/starttls|/implicit], comma-separated"),
    UPSTREAM_PORT("upstream.port", null, "smarthost port; default 587 for starttls, 465 for implicit"),
    UPSTREAM_SECURITY("upstream.security", "starttls", "starttls or implicit; there is no plaintext mode"),
    UPSTREAM_TLS_MIN_VERSION("upstream.tls.min-version", "TLSv1.2", "TLSv1.2 or TLSv1.3"),
    UPSTREAM_TLS_CIPHER_SUITES("upstream.tls.cipher-suites", null,
            "comma-separated JSSE suite names; default: forward-secret AEAD suites only"),
    UPSTREAM_TLS_VERIFY("upstream.tls.verify", "full", "full (chain + host name [+ pins]) or pin (pins only)"),
    UPSTREAM_TLS_CA_FILE("upstream.tls.ca-file", null, "PEM bundle of trusted CAs; default: the JDK trust store"),
    UPSTREAM_TLS_PIN_SHA256("upstream.tls.pin-sha256", null, "comma-separated base64 SPKI SHA-256 pins"),
    UPSTREAM_AUTH_USERNAME("upstream.auth.username", null, "SMTP AUTH user; empty: no AUTH"),
    UPSTREAM_AUTH_PASSWORD("upstream.auth.password", null, "SMTP AUTH password (prefer password-file)", true),
    UPSTREAM_AUTH_PASSWORD_FILE("upstream.auth.password-file", null, "file whose first line is the password"),
    UPSTREAM_AUTH_MECHANISM("upstream.auth.mechanism", null,
            "plain, login or xoauth2, the only one used; empty: xoauth2 with upstream.oauth2.*, with a password"
                    + " the preset's mechanism first, else plain then login (the first the server offers)"),
    UPSTREAM_OAUTH2_TOKEN_URL("upstream.oauth2.token-url", null,
            "OAuth 2.0 token endpoint (https); set: AUTH XOAUTH2 with tokens from it instead of a password"),
    UPSTREAM_OAUTH2_CLIENT_ID("upstream.oauth2.client-id", null, "application (client) id registered with the provider"),
    UPSTREAM_OAUTH2_CLIENT_SECRET_FILE("upstream.oauth2.client-secret-file", null,
            "file whose first line is the client secret (client credentials grant; Google refresh tokens)"),
    UPSTREAM_OAUTH2_SCOPE("upstream.oauth2.scope", null,
            "scope asked for; client credentials for Microsoft 365: https://outlook.office365.com/.default"),
    UPSTREAM_OAUTH2_REFRESH_TOKEN_FILE("upstream.oauth2.refresh-token-file", null,
            "file written by tlsrelay oauth2 login; set: refresh token grant, rotated tokens written back;"
                    + " empty: client credentials grant"),
    UPSTREAM_OAUTH2_CA_FILE("upstream.oauth2.ca-file", null,
            "PEM bundle of CAs trusted for the token endpoint; default: the JDK trust store"),
    UPSTREAM_OAUTH2_REFRESH_BEFORE("upstream.oauth2.refresh-before", "5m",
            "a cached access token is replaced this long before it expires (at most half its lifetime)"),
    UPSTREAM_TIMEOUT("upstream.timeout", "60s", "bound on connect, TLS handshake and each upstream reply"),
    UPSTREAM_POOL_MAX_CONNECTIONS("upstream.pool.max-connections", "5",
            "upstream connections open at once, busy or idle; more senders wait up to upstream.timeout"),
    UPSTREAM_POOL_IDLE_TIMEOUT("upstream.pool.idle-timeout", "30s", "an idle upstream connection is closed after this"),
    UPSTREAM_POOL_MAX_MESSAGES("upstream.pool.max-messages-per-connection", "100",
            "messages sent over one connection before it is replaced (1: no reuse)"),
    // Presets and sending limits; route.NAME.* takes the same keys without the "upstream." prefix.
    UPSTREAM_PRESET("upstream.preset", null,
            "microsoft365, gmail, google-workspace-relay or amazon-ses: fills host, port, security, the AUTH"
                    + " mechanism and the provider's limits; keys set explicitly win"),
    UPSTREAM_REGION("upstream.region", null, "with upstream.preset = amazon-ses: the AWS region, e.g. eu-west-1"),
    UPSTREAM_MAX_MESSAGE_SIZE("upstream.max-message-size", "0",
            "largest message this upstream takes (552 5.3.4 at once above it); 0: listen.max-message-size only"),
    UPSTREAM_MAX_RECIPIENTS_PER_MESSAGE("upstream.max-recipients-per-message", "0",
            "recipients in one upstream transaction (spool: split; pass-through: 452 4.5.3 above it); 0: no limit"),
    UPSTREAM_RATE_MESSAGES_PER_MINUTE("upstream.rate.messages-per-minute", "0",
            "messages per minute, evenly spaced (spool: held; pass-through: wait, then 451 4.7.0); 0: no limit"),
    UPSTREAM_RATE_RECIPIENTS_PER_DAY("upstream.rate.recipients-per-day", "0",
            "recipients per UTC day (spool: held until midnight UTC; counters survive restarts); 0: no limit"),
    UPSTREAM_RATE_MAX_WAIT("upstream.rate.max-wait", "10s",
            "pass-through: how long a message over the rate or in a throttling backoff waits before 451 4.7.0"),
    UPSTREAM_RATE_THROTTLE_BACKOFF("upstream.rate.throttle-backoff", "60s",
            "pause after the upstream says slow down (throttling reply); doubles while it repeats, up to 16x"),
    ADMIN_HOST("admin.host", "127.0.0.1", "address of the health and metrics endpoint"),
    ADMIN_PORT("admin.port", null, "port of GET /healthz and /metrics; empty: no endpoint"),

    AUDIT_FILE("audit.file", "logs/tlsrelay-audit.jsonl", "JSON Lines audit of every TLS negotiation and message"),
    AUDIT_ROTATE_MAX_SIZE("audit.rotate.max-size", "100MiB",
            "the audit file is rotated before a line would take it past this size; 0: never by size"),
    AUDIT_ROTATE_DAILY("audit.rotate.daily", "false", "true: also rotate at the first line after midnight UTC"),
    AUDIT_ROTATE_MAX_FILES("audit.max-history", "0",
            "rotated audit files kept; older ones are deleted, and the deletion is audited; 0: keep all"),
    AUDIT_HMAC_KEY_FILE("audit.hmac-key-file", null,
            "file whose first line is a base64 key (32+ bytes): the chain becomes HMAC-SHA256; empty: SHA-256"),
    AUDIT_REDACT_ADDRESSES("audit.redact-addresses", "false",
            "true: sender and recipient addresses are written as keyed hashes, in the audit and the operational log"),
    AUDIT_REDACTION_KEY_FILE("audit.redaction-key-file", null,
            "file whose first line is a base64 key (32+ bytes) for the address hashes; needed with redact-addresses");

    private final String key;
    private final String defaultValue;
    private final String description;
    private final boolean secret;

    Key(String key, String defaultValue, String description) {
        this(key, defaultValue, description, false);
    }

    Key(String key, String defaultValue, String description, boolean secret) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.description = description;
        this.secret = secret;
    }

    /** The property name, e.g. {@code listen.port}. */
    public String key() {
        return key;
    }

    public Optional<String> defaultValue() {
        return Optional.ofNullable(defaultValue);
    }

    public String description() {
        return description;
    }

    /** Values of secret keys are never printed or logged. */
    public boolean secret() {
        return secret;
    }

    /** The environment variable that overrides this key: {@code TLSRELAY_LISTEN_PORT}. */
    public String environmentVariable() {
        return "TLSRELAY_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    public static Optional<Key> byName(String name) {
        for (Key k : values()) {
            if (k.key.equals(name)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }
}
