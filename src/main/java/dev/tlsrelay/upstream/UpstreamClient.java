package dev.tlsrelay.upstream;

import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.oauth.AccessToken;
import dev.tlsrelay.oauth.TokenException;
import dev.tlsrelay.oauth.TokenSource;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.tls.TlsClient;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsNegotiation;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.MessagingException;
import jakarta.mail.NoSuchProviderException;
import jakarta.mail.Provider;
import jakarta.mail.Session;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens verified, authenticated SMTP connections to the smarthost. Opening is the only place TLS
 * is negotiated, and every attempt, however it ends, writes exactly one {@code tls.handshake}
 * audit event before anything else happens on the connection. AUTH, only ever after TLS, sends a
 * password (PLAIN, LOGIN) or an OAuth 2.0 access token from a {@link TokenSource} (XOAUTH2).
 */
public final class UpstreamClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(UpstreamClient.class);

    private final RelayConfig.Upstream upstream;
    private final String heloName;
    private final TlsClient tls;
    private final AuditLog audit;
    private final ConnectionPool pool;
    /** SASL mechanisms the relay may authenticate with, in preference order; only ever inside TLS. */
    private final List<String> mechanisms;
    private final Optional<TokenSource> tokens;

    /**
     * @param heloName the name the relay gives in its EHLO (never looked up in DNS)
     * @throws GeneralSecurityException if the trust anchors (of the smarthost or the token endpoint) are unusable
     */
    public UpstreamClient(RelayConfig.Upstream upstream, String heloName, AuditLog audit)
            throws GeneralSecurityException {
        this.upstream = upstream;
        this.heloName = heloName;
        this.tls = new TlsClient(upstream.tls());
        this.audit = audit;
        this.mechanisms = upstream.auth().map(c -> c.mechanisms().stream().map(Enum::name).toList())
                .orElse(List.of());
        Optional<RelayConfig.OAuth2> oauth2 = upstream.auth().flatMap(RelayConfig.Credentials::oauth2);
        this.tokens = oauth2.isPresent() ? Optional.of(TokenSource.of(oauth2.get(), upstream.timeout()))
                : Optional.empty();
        this.pool = new ConnectionPool(upstream.pool(), upstream.timeout(), this::openNew);
    }

    public RelayConfig.Upstream upstream() {
        return upstream;
    }

    /**
     * Connects to the first smarthost that works, in configured order: connects, negotiates TLS,
     * verifies the server and authenticates. Each attempt is its own audited negotiation; a failed
     * one is never retried with less security, only another host is tried.
     *
     * @param sessionId the client session this connection serves (for the audit)
     * @throws UpstreamException with the reply to give the client when every smarthost failed
     */
    public UpstreamConnection open(String sessionId) throws UpstreamException {
        ConnectionPool.Grant grant;
        try {
            grant = pool.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UpstreamException(new SmtpReply(421, "4.3.2 Relay shutting down"), Optional.empty(), e);
        }
        if (grant == null) {
            throw new UpstreamException(new SmtpReply(451, "4.4.5 All " + upstream.pool().maxConnections()
                    + " upstream connections are busy (upstream.pool.max-connections); try again later"),
                    Optional.empty(), null);
        }
        if (grant.idle() != null) {
            log.debug("[{}] reusing a verified upstream connection", sessionId);
            return grant.idle().reuse(sessionId);
        }
        try {
            return openNew(sessionId);
        } catch (UpstreamException | RuntimeException e) {
            pool.releasePermit();
            throw e;
        }
    }

    /** Closes idle pooled connections (QUIT); connections in use close when their user is done. */
    @Override
    public void close() {
        pool.close();
    }

    private UpstreamConnection openNew(String sessionId) throws UpstreamException {
        UpstreamException last = null;
        for (RelayConfig.Route route : upstream.routes()) {
            try {
                return open(route, sessionId);
            } catch (UpstreamException e) {
                last = e;
                if (upstream.routes().size() > 1) {
                    log.info("[{}] {} failed ({}); trying the next smarthost if any", sessionId, route,
                            e.clientReply().text());
                }
            }
        }
        throw last;
    }

    /**
     * Opens one connection to {@code route}. With OAuth, a token the smarthost refuses (535 5.7.3,
     * Google's 334 error challenge) is replaced once and the connection tried once more; the refused
     * token is never sent again.
     */
    private UpstreamConnection open(RelayConfig.Route route, String sessionId) throws UpstreamException {
        if (tokens.isEmpty()) {
            try {
                return open(route, sessionId, Optional.empty());
            } catch (TokenRefused notWithoutToken) {
                throw notWithoutToken.failure;
            }
        }
        AccessToken token = accessToken(() -> tokens.get().token());
        try {
            return open(route, sessionId, Optional.of(token));
        } catch (TokenRefused refused) {
            AccessToken next = accessToken(() -> tokens.get().replace(token, refused.said.line()));
            try {
                return open(route, sessionId, Optional.of(next));
            } catch (TokenRefused again) {
                throw again.failure;
            }
        }
    }

    /** The smarthost refused an access token: the caller may try once more with another. */
    private static final class TokenRefused extends Exception {
        final SmtpReply said;
        final UpstreamException failure;

        TokenRefused(SmtpReply said, UpstreamException failure) {
            super(failure.getMessage(), null, false, false);
            this.said = said;
            this.failure = failure;
        }
    }

    private interface TokenCall {
        AccessToken get() throws TokenException;
    }

    /** A token, or the reply that tells the client (and the audit) why there is none. Nothing was sent. */
    private static AccessToken accessToken(TokenCall call) throws UpstreamException {
        try {
            return call.get();
        } catch (TokenException e) {
            String what = switch (e.reason()) {
                case GRANT_REFUSED -> "The provider refused the relay's OAuth refresh token (revoked or expired);"
                        + " message not sent, the relay administrator must run tlsrelay oauth2 login again";
                case CLIENT_REFUSED -> "The provider refused the relay's OAuth client id or secret"
                        + e.error().map(c -> " (" + c + ")").orElse("") + "; message not sent, the relay"
                        + " administrator must fix upstream.oauth2.*";
                case REQUEST_REFUSED -> "The provider refused the relay's OAuth token request"
                        + e.error().map(c -> " (" + c + ")").orElse("") + "; message not sent, the relay"
                        + " administrator must fix upstream.oauth2.*";
                case UPSTREAM_REFUSED -> "The upstream server refuses the relay's OAuth tokens; message not sent,"
                        + " the relay administrator must check the mailbox permissions of the OAuth app";
                case LOCAL -> "The relay's OAuth refresh token file cannot be read; message not sent, the relay"
                        + " administrator must run tlsrelay oauth2 login";
                case UNAVAILABLE -> "The relay cannot get an OAuth token (its token endpoint is unreachable or"
                        + " failing); message not sent, try again later";
            };
            throw new UpstreamException(new SmtpReply(451, "4.7.0 " + what), Optional.empty(), e);
        }
    }

    private UpstreamConnection open(RelayConfig.Route route, String sessionId, Optional<AccessToken> token)
            throws UpstreamException, TokenRefused {
        TlsMode mode = route.security();
        TlsClient.ConnectionTls connectionTls = tls.forConnection(route.host(), route.port(), mode);
        Session session = Session.getInstance(properties(route, connectionTls));
        SmtpChannel channel;
        try {
            channel = (SmtpChannel) session.getTransport(provider(mode));
        } catch (NoSuchProviderException e) {
            throw new IllegalStateException("SMTP client class missing", e);
        }
        Instant start = Instant.now();
        String user = upstream.auth().map(RelayConfig.Credentials::username).orElse(null);
        // XOAUTH2 carries the access token where PLAIN and LOGIN carry the password.
        String password = token.map(AccessToken::value)
                .or(() -> upstream.auth().flatMap(RelayConfig.Credentials::password).map(RelayConfig.Secret::value))
                .orElse(null);
        try {
            channel.connect(route.host(), route.port(), user, password);
        } catch (AuthenticationFailedException e) {
            // TLS itself succeeded: audit it as such, then report the credentials problem.
            recordHandshake(sessionId, connectionTls.negotiation().orElseThrow());
            Optional<String> tried = channel.firstSupported(mechanisms);
            if (tried.isEmpty()) {
                // Angus throws the same exception when no mechanism is shared, before sending any
                // credentials: blaming the password would send the administrator the wrong way.
                String offered = Optional.ofNullable(channel.getExtensionParameter("AUTH")).orElse("").strip();
                log.warn("upstream {}:{} offers AUTH {} but none of {}; nothing was sent", route.host(), route.port(),
                        offered, mechanisms);
                throw new UpstreamException(new SmtpReply(451, "4.7.0 The upstream server offers no AUTH mechanism"
                        + " the relay uses (it offers " + offered + "; the relay uses " + String.join(" or ",
                        mechanisms) + "); message not sent, check upstream.host and upstream.auth.*"),
                        Optional.empty(), e);
            }
            Optional<String> mechanism = tried.map(m -> m.toLowerCase(Locale.ROOT));
            SmtpReply said = authRefusal(channel);
            if (token.isPresent()) {
                log.warn("upstream {}:{} refused OAuth access token {} for {}: {}", route.host(), route.port(),
                        token.get().fingerprint(), user, said.line());
                UpstreamException failure = new UpstreamException(new SmtpReply(451, "4.7.1 The upstream server"
                        + " refused the relay's OAuth token (" + said.line() + "); message not sent, the relay"
                        + " administrator must check the OAuth app's mail permissions and upstream.auth.username"),
                        Optional.empty(), e, mechanism);
                int code = channel.getLastReturnCode();
                if (code == 535 || code == 334) {
                    // 535 5.7.3 (Microsoft), or Google's error challenge: the token itself was refused.
                    throw new TokenRefused(said, failure);
                }
                throw failure;
            }
            log.warn("upstream {}:{} refused the relay's credentials for user {}: {}", route.host(), route.port(),
                    user, said.line());
            throw new UpstreamException(new SmtpReply(451, "4.7.1 The upstream server refused the relay's"
                    + " credentials (" + said.line() + "); message not sent, the relay administrator must fix"
                    + " upstream.auth.*"), Optional.empty(), e, mechanism);
        } catch (MessagingException e) {
            TlsNegotiation n = connectionTls.negotiation()
                    .orElseGet(() -> connectionTls.handshakeAttempted() ? connectionTls.failed(e)
                            : failedBeforeTls(route, channel, start, e));
            recordHandshake(sessionId, n);
            if (n.ok()) {
                throw lostConnection(e);
            }
            throw tlsFailure(route, n, e);
        }
        Optional<TlsNegotiation> negotiated = connectionTls.negotiation();
        if (negotiated.isEmpty() || !negotiated.get().ok()) {
            // Unreachable unless the SMTP client skipped our TLS layer: never talk in plaintext.
            closeQuietly(channel);
            TlsNegotiation n = TlsClient.failedBeforeHandshake(route.host(), route.port(), mode, start,
                    FailureCode.HANDSHAKE_FAILED, "connection was not protected by the relay's TLS layer");
            recordHandshake(sessionId, n);
            throw tlsFailure(route, n, null);
        }
        recordHandshake(sessionId, negotiated.get());
        if (upstream.auth().isPresent() && !channel.supportsExtension("AUTH")) {
            // Angus would quietly send unauthenticated: refuse instead, the upstream would misattribute it.
            closeQuietly(channel);
            log.warn("upstream {}:{} does not offer AUTH after TLS; credentials are configured, so nothing is sent",
                    route.host(), route.port());
            throw new UpstreamException(new SmtpReply(451, "4.7.0 The upstream server does not offer AUTH;"
                    + " message not sent, check upstream.host and upstream.auth.*"), Optional.empty(), null);
        }
        Optional<String> mechanism = upstream.auth().isPresent()
                ? channel.firstSupported(mechanisms).map(m -> m.toLowerCase(Locale.ROOT)) : Optional.empty();
        token.ifPresent(t -> log.debug("[{}] authenticated to {}:{} with OAuth access token {}", sessionId,
                route.host(), route.port(), t.fingerprint()));
        return new UpstreamConnection(channel, connectionTls, negotiated.get(), sessionId, mechanism, pool);
    }

    /**
     * The server's refusal of AUTH. Google answers a refused XOAUTH2 token with a 334 challenge
     * carrying a base64 JSON error (status, schemes, scope); it is decoded here, for people.
     */
    private static SmtpReply authRefusal(SmtpChannel channel) {
        int code = channel.getLastReturnCode();
        String raw = Optional.ofNullable(channel.getLastServerResponse()).orElse("");
        if (code == 334 && raw.length() > 4) {
            try {
                String json = new String(Base64.getDecoder().decode(raw.substring(4).strip()), StandardCharsets.UTF_8);
                String clean = json.replaceAll("[\\p{Cntrl}]+", " ").strip();
                return new SmtpReply(535, "XOAUTH2 error " + (clean.length() > 200 ? clean.substring(0, 200) : clean));
            } catch (IllegalArgumentException notBase64) {
                // Shown as it came.
            }
        }
        return SmtpReply.parse(Math.max(code, 500), raw);
    }

    private void recordHandshake(String sessionId, TlsNegotiation n) {
        audit.write(new AuditEvent.Handshake(sessionId, n));
        if (n.ok()) {
            log.info("[{}] verified TLS connection to {}:{} ({}): {} with cipher {}, certificate {}", sessionId,
                    n.peerHost(), n.peerPort(), n.mode().configName(), n.protocol().orElse("?"),
                    n.cipher().orElse("?"), n.leaf().map(c -> c.subject()).orElse("?"));
        } else {
            log.warn("[{}] TLS to {}:{} ({}) failed: {}: {}", sessionId, n.peerHost(), n.peerPort(),
                    n.mode().configName(), n.failure().map(FailureCode::auditName).orElse("?"),
                    n.detail().orElse(""));
        }
    }

    /** What went wrong when no handshake was ever attempted. */
    private static TlsNegotiation failedBeforeTls(RelayConfig.Route route, SmtpChannel channel, Instant start,
            MessagingException e) {
        FailureCode code = FailureCode.CONNECT_FAILED;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException) {
                code = FailureCode.TIMEOUT;
                break;
            }
            if (t instanceof ConnectException || t instanceof UnknownHostException
                    || t instanceof NoRouteToHostException) {
                code = FailureCode.CONNECT_FAILED;
                break;
            }
        }
        String detail = TlsClient.describe(e);
        // Greeting and EHLO went fine (last reply 250) and still no TLS layer: STARTTLS was not offered.
        if (code == FailureCode.CONNECT_FAILED && route.security() == TlsMode.STARTTLS
                && channel.getLastReturnCode() == 250) {
            code = FailureCode.STARTTLS_NOT_OFFERED;
        }
        // STARTTLS was advertised and sent, and the server answered it with an error (typically
        // "454 TLS not available"): it was reached and will not do TLS. A TLS failure, not a network
        // one, so it must not be reported (and retried by operators) as connect_failed.
        if (code == FailureCode.CONNECT_FAILED && route.security() == TlsMode.STARTTLS && channel.startTlsIssued()
                && channel.getLastReturnCode() >= 400) {
            code = FailureCode.STARTTLS_NOT_OFFERED;
            detail = "the server advertised STARTTLS but refused it: " + detail;
        }
        return TlsClient.failedBeforeHandshake(route.host(), route.port(), route.security(), start, code, detail);
    }

    private static UpstreamException tlsFailure(RelayConfig.Route route, TlsNegotiation n, Exception cause) {
        FailureCode code = n.failure().orElse(FailureCode.HANDSHAKE_FAILED);
        String status = switch (code) {
            case CONNECT_FAILED, TIMEOUT -> "4.4.1";
            default -> "4.7.0";
        };
        return new UpstreamException(new SmtpReply(451, status + " Upstream " + route.host() + ":" + route.port()
                + " " + code.auditName() + ": " + code.plainWords() + "; message not sent, try again later"),
                Optional.of(code), cause);
    }

    static UpstreamException lostConnection(Exception e) {
        return new UpstreamException(new SmtpReply(451, "4.4.2 Connection to the upstream server failed ("
                + TlsClient.describe(e) + "); message not sent, try again later"), Optional.empty(), e);
    }

    private Properties properties(RelayConfig.Route route, TlsClient.ConnectionTls connectionTls) {
        String p = route.security() == TlsMode.IMPLICIT ? "mail.smtps." : "mail.smtp.";
        String timeout = String.valueOf(upstream.timeout().toMillis());
        Properties props = new Properties();
        props.put(p + "host", route.host());
        props.put(p + "port", String.valueOf(route.port()));
        props.put(p + "localhost", heloName);
        props.put(p + "connectiontimeout", timeout);
        props.put(p + "timeout", timeout);
        props.put(p + "writetimeout", timeout);
        // Our factory is the only TLS there is: no silent retry with the JVM default, no identity
        // check of Angus' own (ours is in the trust manager), never ssl.trust.
        props.put(p + "ssl.socketFactory", connectionTls);
        props.put(p + "socketFactory.fallback", "false");
        props.put(p + "ssl.socketFactory.fallback", "false");
        props.put(p + "ssl.checkserveridentity", "false");
        // Called synchronously after the handshake: records what was negotiated.
        props.put(p + "ssl.hostnameverifier", connectionTls);
        props.put(p + "ssl.protocols", String.join(" ", upstream.tls().minVersion().protocolsFromThisUp()));
        props.put(p + "ssl.ciphersuites", String.join(" ", upstream.tls().cipherSuites()));
        props.put(p + "ssl.enable", String.valueOf(route.security() == TlsMode.IMPLICIT));
        props.put(p + "starttls.enable", "true");
        props.put(p + "starttls.required", "true");
        props.put(p + "auth", String.valueOf(upstream.auth().isPresent()));
        // Only these, in this order: XOAUTH2 must be named to be used at all (Angus disables it by default).
        props.put(p + "auth.mechanisms", String.join(" ", mechanisms.isEmpty() ? List.of("PLAIN", "LOGIN")
                : mechanisms));
        // Commands go out as UTF-8 (for SMTPUTF8 addresses) instead of Angus' default byte-per-char.
        props.put("mail.mime.allowutf8", "true");
        return props;
    }

    private static Provider provider(TlsMode mode) {
        return mode == TlsMode.IMPLICIT
                ? new Provider(Provider.Type.TRANSPORT, "smtps", SmtpChannel.Implicit.class.getName(), "tlsrelay", null)
                : new Provider(Provider.Type.TRANSPORT, "smtp", SmtpChannel.class.getName(), "tlsrelay", null);
    }

    static void closeQuietly(SmtpChannel channel) {
        try {
            channel.close();
        } catch (MessagingException ignored) {
            // Closing after a failure: the failure is what matters.
        }
    }
}
