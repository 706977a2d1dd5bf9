package dev.tlsrelay.oauth;

import dev.tlsrelay.config.RelayConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access tokens the relay authenticates upstream with (XOAUTH2). One token is cached and handed
 * to every new connection until shortly before it expires; then exactly one caller asks the
 * provider for the next while the others wait for it (no stampede). A token the smarthost refuses
 * is never handed out again: {@link #replace} gets one new token for all who saw the refusal.
 *
 * <p>The provider is protected from a relay in trouble: after a failed request the same failure is
 * answered locally for a while (5 s when the provider was unreachable, 60 s when it refused)
 * instead of asking again for every message, and a refused refresh token is not tried again until
 * its file changes (a new {@code tlsrelay oauth2 login}). Identity providers throttle clients that
 * repeat requests in a loop.
 */
public final class TokenSource {

    private static final Logger log = LoggerFactory.getLogger(TokenSource.class);

    static final Duration HOLD_UNAVAILABLE = Duration.ofSeconds(5);
    static final Duration HOLD_REFUSED = Duration.ofSeconds(60);
    /**
     * Tokens the smarthost refused are replaced at most this often: a smarthost that refuses every
     * token (a missing permission) must not turn each message into a token request.
     */
    static final Duration MIN_REPLACE_INTERVAL = Duration.ofSeconds(30);

    private final RelayConfig.OAuth2 config;
    private final OAuthEndpoint endpoint;
    private final Clock clock;
    private final ReentrantLock lock = new ReentrantLock();

    private volatile AccessToken cached;
    // Guarded by lock:
    private Failure failure;
    private Instant lastReplaced;
    /** A rotated refresh token that could not be saved, and the file version it supersedes. */
    private String unsaved;
    private RefreshTokenFile.Stamp unsavedOver;

    private record Failure(TokenException exception, Instant until, RefreshTokenFile.Stamp file) {}

    private TokenSource(RelayConfig.OAuth2 config, OAuthEndpoint endpoint, Clock clock) {
        this.config = config;
        this.endpoint = endpoint;
        this.clock = clock;
    }

    /**
     * @param timeout bound on each token request
     * @throws GeneralSecurityException if the token endpoint's trust anchors are unusable
     */
    public static TokenSource of(RelayConfig.OAuth2 config, Duration timeout) throws GeneralSecurityException {
        return new TokenSource(config, new OAuthEndpoint(config.tokenUrl(), config.https(), timeout),
                Clock.systemUTC());
    }

    /** How tokens are obtained, for the startup banner: grant and endpoint host. */
    public String describe() {
        return "OAuth 2.0 " + config.grantType() + " grant at " + config.tokenUrl().getHost();
    }

    /**
     * A token that is not about to expire: the cached one, or a new one. Concurrent callers wait for
     * the one request under way.
     *
     * @throws TokenException if none can be had now; the message says why, {@link TokenException#fix()} what to do
     */
    public AccessToken token() throws TokenException {
        AccessToken t = cached;
        if (t != null && fresh(t)) {
            return t;
        }
        lockInterruptibly();
        try {
            t = cached;
            if (t != null && fresh(t)) {
                return t;
            }
            return fetch();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The smarthost refused {@code rejected} (535 5.7.3 and the like): returns a different token,
     * fetching one unless another caller already did. {@code rejected} is never handed out again.
     *
     * @param upstreamReply what the smarthost said, for the error when the new token cannot be had
     * @throws TokenException if no other token can be had now, or tokens were refused twice within
     *                        {@link #MIN_REPLACE_INTERVAL}
     */
    public AccessToken replace(AccessToken rejected, String upstreamReply) throws TokenException {
        lockInterruptibly();
        try {
            AccessToken current = cached;
            if (current != null && current != rejected && fresh(current)) {
                return current;
            }
            if (current == rejected) {
                cached = null;
            }
            Instant now = clock.instant();
            if (lastReplaced != null && now.isBefore(lastReplaced.plus(MIN_REPLACE_INTERVAL))) {
                TokenException e = new TokenException(TokenException.Reason.UPSTREAM_REFUSED, Optional.empty(),
                        "the upstream refused a freshly issued OAuth token too (" + upstreamReply + ")",
                        "the token is valid but the mailbox may not be used with it: check the app's permission"
                                + " (Microsoft 365: SMTP.SendAsApp with admin consent, the service principal's"
                                + " mailbox permission, SMTP AUTH enabled for the mailbox; Google: the"
                                + " https://mail.google.com/ scope) and upstream.auth.username", null);
                failure = new Failure(e, lastReplaced.plus(MIN_REPLACE_INTERVAL), fileStamp());
                log.warn("the upstream refused OAuth access token {} as well ({}); no new token before {}: {}",
                        rejected.fingerprint(), upstreamReply, failure.until(), e.fix());
                throw e;
            }
            lastReplaced = now;
            log.info("the upstream refused OAuth access token {} (expires {}): {}; asking for a new one",
                    rejected.fingerprint(), rejected.expiresAt(), upstreamReply);
            return fetch();
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code t} may still be sent: it expires later than {@code refresh-before} from now. */
    boolean fresh(AccessToken t) {
        // At most half the lifetime, so a short-lived token is still used for a while before renewal.
        Duration margin = config.refreshBefore();
        Duration half = t.lifetime().dividedBy(2);
        if (half.compareTo(margin) < 0) {
            margin = half;
        }
        return clock.instant().isBefore(t.expiresAt().minus(margin));
    }

    private AccessToken fetch() throws TokenException {
        Failure f = failure;
        if (f != null && clock.instant().isBefore(f.until()) && java.util.Objects.equals(f.file(), fileStamp())) {
            throw f.exception();
        }
        try {
            OAuthEndpoint.Tokens tokens = config.refreshTokenFile().isPresent()
                    ? refresh(config.refreshTokenFile().get()) : clientCredentials();
            failure = null;
            cached = tokens.accessToken();
            return cached;
        } catch (TokenException e) {
            Duration hold = e.reason() == TokenException.Reason.UNAVAILABLE ? HOLD_UNAVAILABLE : HOLD_REFUSED;
            failure = new Failure(e, clock.instant().plus(hold), fileStamp());
            if (e.reason() != TokenException.Reason.UNAVAILABLE) {
                log.error("no OAuth access token for the upstream: {}. Fix: {}", e.getMessage(), e.fix());
            }
            throw e;
        }
    }

    private OAuthEndpoint.Tokens clientCredentials() throws TokenException {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "client_credentials");
        form.put("client_id", config.clientId());
        config.clientSecret().ifPresent(s -> form.put("client_secret", s.value()));
        config.scope().ifPresent(s -> form.put("scope", s));
        try {
            return endpoint.requestTokens("client_credentials", form, Set.of());
        } catch (TokenException e) {
            throw clientCredentialsAdvice(e);
        }
    }

    /** invalid_grant means something else without a refresh token: say so. */
    private static TokenException clientCredentialsAdvice(TokenException e) {
        if (e.reason() != TokenException.Reason.GRANT_REFUSED) {
            return e;
        }
        return new TokenException(e.reason(), e.error(), e.getMessage(), "check upstream.oauth2.client-id,"
                + " the client secret and upstream.oauth2.scope (Microsoft 365: https://outlook.office365.com/.default)",
                e);
    }

    private OAuthEndpoint.Tokens refresh(Path file) throws TokenException {
        ReentrantLock fileLock = RefreshTokenFile.lock(file);
        fileLock.lock();
        try {
            RefreshTokenFile.Stamp stamp = RefreshTokenFile.stamp(file);
            String refreshToken;
            if (unsaved != null && stamp.equals(unsavedOver)) {
                refreshToken = unsaved;
            } else {
                unsaved = null;
                try {
                    refreshToken = RefreshTokenFile.read(file);
                } catch (IOException e) {
                    throw new TokenException(TokenException.Reason.LOCAL, Optional.empty(),
                            "cannot read the refresh token file " + file + " (" + e.getMessage() + ")",
                            "create it with tlsrelay oauth2 login --token-file " + file
                                    + ", as the user the relay runs as", e);
                }
            }
            Map<String, String> form = new LinkedHashMap<>();
            form.put("grant_type", "refresh_token");
            form.put("refresh_token", refreshToken);
            form.put("client_id", config.clientId());
            config.clientSecret().ifPresent(s -> form.put("client_secret", s.value()));
            config.scope().ifPresent(s -> form.put("scope", s));
            OAuthEndpoint.Tokens tokens;
            try {
                tokens = endpoint.requestTokens("refresh_token", form, Set.of());
            } catch (TokenException e) {
                if (e.reason() == TokenException.Reason.GRANT_REFUSED) {
                    throw new TokenException(e.reason(), e.error(), "refreshing with the token in " + file
                            + ": " + e.getMessage(), "it was revoked or has expired; run tlsrelay"
                            + " oauth2 login again (as the relay's user, --token-file " + file + "); the relay"
                            + " picks the new file up by itself", e);
                }
                throw e;
            }
            Optional<String> rotated = tokens.refreshToken().filter(r -> !r.equals(refreshToken));
            if (rotated.isPresent()) {
                try {
                    RefreshTokenFile.write(file, rotated.get());
                    unsaved = null;
                    log.info("the provider rotated the OAuth refresh token; the new one is saved in {}", file);
                } catch (IOException | RuntimeException e) {
                    // Keep using it from memory: the provider may already have retired the old one.
                    unsaved = rotated.get();
                    unsavedOver = RefreshTokenFile.stamp(file);
                    log.error("the provider rotated the OAuth refresh token but it cannot be saved in {} ({}); it is"
                            + " kept in memory until the next refresh, after a restart the old one may be refused:"
                            + " make the file and its directory writable by the relay", file, e.getMessage());
                }
            }
            return tokens;
        } finally {
            fileLock.unlock();
        }
    }

    private RefreshTokenFile.Stamp fileStamp() {
        return config.refreshTokenFile().map(RefreshTokenFile::stamp).orElse(null);
    }

    private void lockInterruptibly() throws TokenException {
        try {
            lock.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TokenException(TokenException.Reason.UNAVAILABLE, Optional.empty(),
                    "interrupted while waiting for an OAuth token", "the relay is shutting down", e);
        }
    }
}
