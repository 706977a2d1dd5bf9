package dev.tlsrelay.oauth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.tls.TlsClient;
import dev.tlsrelay.tls.TlsPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One endpoint of an identity provider (a token endpoint, RFC 6749 section 3.2, or a device
 * authorization endpoint, RFC 8628 section 3.1), asked with form POSTs over TLS verified exactly
 * like the smarthost: the relay's own trust manager checks chain and host name, TLS 1.2+ with
 * forward-secret AEAD suites, no redirects followed. Every token request is logged with endpoint,
 * grant, outcome and expiry, never with a token, code or secret; answers are bounded in size.
 */
public final class OAuthEndpoint {

    private static final Logger log = LoggerFactory.getLogger(OAuthEndpoint.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Largest answer read; token responses are a few KiB. */
    static final int MAX_RESPONSE_BYTES = 64 * 1024;
    /** Longest token or code accepted (Microsoft access tokens are 2-3 KiB). */
    static final int MAX_TOKEN_CHARS = 16 * 1024;
    /** Lifetime assumed when a provider leaves out {@code expires_in} (RFC 6749 only recommends it). */
    static final Duration ASSUMED_LIFETIME = Duration.ofMinutes(5);

    private final URI uri;
    private final TlsClient tls;
    private final Duration timeout;

    /**
     * @param timeout bound on connecting, the TLS handshake and the answer
     * @throws GeneralSecurityException if the trust anchors are unusable
     */
    public OAuthEndpoint(URI uri, TlsPolicy https, Duration timeout) throws GeneralSecurityException {
        if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("an OAuth endpoint is an https:// URL: " + uri);
        }
        this.uri = uri;
        this.tls = new TlsClient(https);
        this.timeout = timeout;
    }

    public URI uri() {
        return uri;
    }

    /**
     * What a token request gave. {@link #toString()} shows no token.
     *
     * @param refreshToken present when the provider issued one (first login) or rotated it (refresh)
     */
    public record Tokens(AccessToken accessToken, Optional<String> refreshToken, Optional<String> scope) {

        /** These tokens, if they include a refresh token: what a login is for. */
        public Tokens withRefreshToken() throws TokenException {
            if (refreshToken.isEmpty()) {
                throw new TokenException(TokenException.Reason.REQUEST_REFUSED, Optional.empty(), "the sign-in worked"
                        + " but the provider issued no refresh token", "ask for offline access: Microsoft needs the"
                        + " offline_access scope, Google access_type=offline", null);
            }
            return this;
        }

        @Override
        public String toString() {
            return "Tokens[" + accessToken + (refreshToken.isPresent() ? ", with a refresh token" : "") + "]";
        }
    }

    /**
     * Asks for tokens.
     *
     * @param grant      the grant's name for the log ({@code refresh_token}, {@code client_credentials}, ...)
     * @param form       the request parameters, {@code grant_type} included
     * @param quietCodes error codes that are part of a normal exchange (a device flow's
     *                   {@code authorization_pending}): logged at debug level only
     */
    public Tokens requestTokens(String grant, Map<String, String> form, Set<String> quietCodes) throws TokenException {
        Instant sent = Instant.now();
        Answer a;
        try {
            a = post(form);
        } catch (TokenException e) {
            log.warn("OAuth token request to {} ({}) failed: {}", uri, grant, e.getMessage());
            throw e;
        }
        if (a.status() != 200) {
            TokenException e = refusal(a);
            if (e.error().isPresent() && quietCodes.contains(e.error().get())) {
                log.debug("OAuth token request to {} ({}): {}", uri, grant, e.error().get());
            } else {
                log.warn("OAuth token request to {} ({}) refused: {}", uri, grant, e.getMessage());
            }
            throw e;
        }
        try {
            Tokens t = tokens(a.json(), sent);
            log.info("OAuth token request to {} ({}): ok, access token {} expires {} (in {}s){}", uri, grant,
                    t.accessToken().fingerprint(), t.accessToken().expiresAt(), t.accessToken().lifetime().toSeconds(),
                    t.refreshToken().isPresent() ? ", with a refresh token" : "");
            return t;
        } catch (TokenException e) {
            log.warn("OAuth token request to {} ({}): unusable answer: {}", uri, grant, e.getMessage());
            throw e;
        }
    }

    /**
     * A POST whose answer is a JSON object (a device authorization request). Refusals and
     * unreachable endpoints throw like token requests.
     */
    public JsonNode requestJson(String what, Map<String, String> form) throws TokenException {
        Answer a;
        try {
            a = post(form);
            if (a.status() != 200) {
                throw refusal(a);
            }
        } catch (TokenException e) {
            log.warn("OAuth {} request to {} failed: {}", what, uri, e.getMessage());
            throw e;
        }
        if (!a.json().isObject()) {
            throw new TokenException(TokenException.Reason.UNAVAILABLE, Optional.empty(), uri.getHost()
                    + " answered the " + what + " request with something other than a JSON object",
                    "check the endpoint URL", null);
        }
        log.info("OAuth {} request to {}: ok", what, uri);
        return a.json();
    }

    private record Answer(int status, JsonNode json) {}

    private Answer post(Map<String, String> form) throws TokenException {
        String body = form.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .header("User-Agent", "tlsrelay")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        String host = uri.getHost();
        HttpClient client;
        try {
            // A client per request: token requests are rare (about one an hour), and nothing outlives them.
            client = HttpClient.newBuilder()
                    .sslContext(tls.contextVerifying(host))
                    .sslParameters(tls.parametersFor(host))
                    .connectTimeout(timeout)
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .version(HttpClient.Version.HTTP_1_1)
                    .build();
        } catch (GeneralSecurityException e) {
            throw unavailable("no TLS context: " + e.getMessage(), e);
        }
        try {
            // The request timeout ends at the response headers; this deadline also bounds a body that
            // trickles in, so a stalled provider cannot hold the relay's token lock for ever.
            return client.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
                    .thenApply(OAuthEndpoint::answer)
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw unavailable("no complete answer within " + timeout.toSeconds() + "s", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : e.getCause();
            if (cause instanceof TooLarge) {
                throw unavailable("the answer is larger than " + MAX_RESPONSE_BYTES + " bytes", null);
            }
            throw unavailable(TlsClient.describe(cause), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable("interrupted", e);
        } finally {
            // Aborts whatever is still under way (a stalled body); nothing else uses this client.
            client.shutdownNow();
        }
    }

    /** Signals an answer above {@link #MAX_RESPONSE_BYTES}. */
    private static final class TooLarge extends RuntimeException {
        TooLarge() {
            super(null, null, false, false);
        }
    }

    private static Answer answer(HttpResponse<InputStream> response) {
        byte[] bytes;
        try (InputStream in = response.body()) {
            bytes = in.readNBytes(MAX_RESPONSE_BYTES + 1);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        if (bytes.length > MAX_RESPONSE_BYTES) {
            throw new TooLarge();
        }
        JsonNode json;
        try {
            json = bytes.length == 0 ? JSON.nullNode() : JSON.readTree(bytes);
        } catch (IOException e) {
            json = JSON.nullNode(); // not JSON: the status code says enough
        }
        return new Answer(response.statusCode(), json == null ? JSON.nullNode() : json);
    }

    private TokenException unavailable(String why, Throwable cause) {
        return new TokenException(TokenException.Reason.UNAVAILABLE, Optional.empty(), "cannot reach " + uri + ": "
                + why, "check the network path (and any proxy) to " + uri.getHost() + " and its certificate", cause);
    }

    /** A refusal: the OAuth error code and description when the provider gave them, else the HTTP status. */
    private TokenException refusal(Answer a) {
        Optional<String> error = text(a.json(), "error").map(OAuthEndpoint::printable);
        Optional<String> description = text(a.json(), "error_description").map(OAuthEndpoint::printable);
        String said = error.map(e -> e + description.map(d -> ": " + d).orElse(""))
                .orElse("HTTP " + a.status());
        String message = uri.getHost() + " refused the request (" + said + ")";
        if (error.isEmpty()) {
            boolean temporary = a.status() >= 500 || a.status() == 429 || a.status() == 408;
            return new TokenException(temporary ? TokenException.Reason.UNAVAILABLE
                    : TokenException.Reason.REQUEST_REFUSED, Optional.empty(), message,
                    temporary ? "the provider is failing; try again later" : "check the endpoint URL", null);
        }
        return switch (error.get()) {
            case "invalid_grant" -> new TokenException(TokenException.Reason.GRANT_REFUSED, error, message,
                    "the refresh token (or login code) was revoked or has expired: sign in again with"
                            + " tlsrelay oauth2 login", null);
            case "invalid_client", "unauthorized_client" -> new TokenException(TokenException.Reason.CLIENT_REFUSED,
                    error, message, "check upstream.oauth2.client-id and the client secret (secrets expire)", null);
            case "temporarily_unavailable", "server_error" -> new TokenException(TokenException.Reason.UNAVAILABLE,
                    error, message, "the provider is failing; try again later", null);
            default -> new TokenException(TokenException.Reason.REQUEST_REFUSED, error, message,
                    "check upstream.oauth2.scope and the app registration", null);
        };
    }

    private Tokens tokens(JsonNode json, Instant sent) throws TokenException {
        Optional<String> access = text(json, "access_token");
        if (access.isEmpty() || access.get().length() > MAX_TOKEN_CHARS
                || !AccessToken.isPrintableWord(access.get())) {
            throw malformed("no usable access_token");
        }
        Optional<String> type = text(json, "token_type");
        if (type.isPresent() && !type.get().equalsIgnoreCase("Bearer")) {
            throw malformed("token_type is " + printable(type.get()) + ", not Bearer");
        }
        Duration lifetime = ASSUMED_LIFETIME;
        JsonNode expires = json.get("expires_in");
        if (expires != null && !expires.isNull()) {
            // A number, or (some providers) a number in a string.
            long seconds = expires.isNumber() ? expires.asLong() : parseLong(expires.asText());
            if (seconds <= 0 || seconds > Duration.ofDays(366).toSeconds()) {
                throw malformed("expires_in is " + printable(expires.asText()));
            }
            lifetime = Duration.ofSeconds(seconds);
        }
        Optional<String> refresh = text(json, "refresh_token");
        if (refresh.isPresent() && (refresh.get().length() > MAX_TOKEN_CHARS
                || !AccessToken.isPrintableWord(refresh.get()))) {
            throw malformed("the refresh_token is not printable ASCII");
        }
        // Counted from when the request was sent: the token can only have been issued after that.
        return new Tokens(new AccessToken(access.get(), sent, sent.plus(lifetime)), refresh,
                text(json, "scope").map(OAuthEndpoint::printable));
    }

    private TokenException malformed(String what) {
        return new TokenException(TokenException.Reason.UNAVAILABLE, Optional.empty(), uri.getHost()
                + " answered 200 but " + what, "check upstream.oauth2.token-url: it must be the provider's token"
                + " endpoint", null);
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static Optional<String> text(JsonNode json, String field) {
        JsonNode n = json == null ? null : json.get(field);
        return n != null && n.isValueNode() && !n.isNull() && !n.asText().isEmpty()
                ? Optional.of(n.asText()) : Optional.empty();
    }

    /** Provider text for a log line or reply: control characters out, at most 300 characters. */
    static String printable(String s) {
        String clean = s.replaceAll("[\\p{Cntrl}]+", " ").strip();
        return clean.length() > 300 ? clean.substring(0, 300) + "..." : clean;
    }
}
