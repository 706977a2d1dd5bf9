package dev.tlsrelay.oauth;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The device authorization grant (RFC 8628): the provider hands out a user code, a person enters
 * it at a URL on any device with a browser and signs in, and meanwhile this side polls the token
 * endpoint, at the interval the provider asks for, slower after each {@code slow_down}, until the
 * sign-in is done, declined or the code expires.
 */
public final class DeviceLogin {

    static final String GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
    /** RFC 8628 section 3.2: the polling interval when the provider names none. */
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);
    /** RFC 8628 section 3.5: each slow_down adds this to the interval, for good. */
    static final Duration SLOW_DOWN_STEP = Duration.ofSeconds(5);
    static final Duration MAX_INTERVAL = Duration.ofSeconds(60);

    private DeviceLogin() {}

    /**
     * What the person has to do; every text is stripped of control characters (it is printed to a
     * terminal and came from the network).
     *
     * @param verificationUriComplete the URL with the code already in it, when the provider offers one
     * @param message                 the provider's own instruction sentence, if any
     */
    public record Instructions(String verificationUri, String userCode, Optional<String> verificationUriComplete,
            Duration expiresIn, Optional<String> message) {}

    /**
     * Runs the whole grant.
     *
     * @param maxWait gives up after this long even if the code is still valid
     * @param show    receives the instructions once, before polling starts
     * @return the tokens, with a refresh token
     * @throws TokenException if the sign-in was declined, the code expired, or no refresh token came
     */
    public static OAuthEndpoint.Tokens run(OAuthEndpoint deviceEndpoint, OAuthEndpoint tokenEndpoint, String clientId,
            Optional<String> clientSecret, String scope, Duration maxWait, Consumer<Instructions> show)
            throws TokenException, InterruptedException {
        Map<String, String> ask = new LinkedHashMap<>();
        ask.put("client_id", clientId);
        ask.put("scope", scope);
        JsonNode d = deviceEndpoint.requestJson("device authorization", ask);
        String deviceCode = required(d, "device_code", deviceEndpoint);
        String userCode = OAuthEndpoint.printable(required(d, "user_code", deviceEndpoint));
        // Google names it verification_url, RFC 8628 and Microsoft verification_uri.
        String uri = OAuthEndpoint.printable(OAuthEndpoint.text(d, "verification_uri")
                .or(() -> OAuthEndpoint.text(d, "verification_url"))
                .orElseThrow(() -> malformed(deviceEndpoint, "verification_uri")));
        Duration expiresIn = seconds(d, "expires_in").orElse(Duration.ofMinutes(15));
        Duration interval = seconds(d, "interval").orElse(DEFAULT_INTERVAL);
        if (interval.compareTo(Duration.ofSeconds(1)) < 0) {
            interval = Duration.ofSeconds(1);
        }
        show.accept(new Instructions(uri, userCode,
                OAuthEndpoint.text(d, "verification_uri_complete").map(OAuthEndpoint::printable), expiresIn,
                OAuthEndpoint.text(d, "message").map(OAuthEndpoint::printable)));

        Map<String, String> poll = new LinkedHashMap<>();
        poll.put("grant_type", GRANT_TYPE);
        poll.put("device_code", deviceCode);
        poll.put("client_id", clientId);
        clientSecret.ifPresent(s -> poll.put("client_secret", s));
        Instant deadline = Instant.now().plus(expiresIn.compareTo(maxWait) < 0 ? expiresIn : maxWait);
        while (true) {
            Instant next = Instant.now().plus(interval);
            if (next.isAfter(deadline)) {
                throw new TokenException(TokenException.Reason.GRANT_REFUSED, Optional.of("expired_token"),
                        "nobody signed in with code " + userCode + " in time", "run the login again and sign in"
                                + " within " + expiresIn.toMinutes() + " minutes", null);
            }
            Thread.sleep(interval.toMillis());
            try {
                OAuthEndpoint.Tokens t = tokenEndpoint.requestTokens("device_code", poll,
                        Set.of("authorization_pending", "slow_down"));
                return t.withRefreshToken();
            } catch (TokenException e) {
                String error = e.error().orElse("");
                switch (error) {
                    case "authorization_pending" -> { }
                    case "slow_down" -> interval = cap(interval.plus(SLOW_DOWN_STEP));
                    case "access_denied", "authorization_declined" -> throw new TokenException(
                            TokenException.Reason.GRANT_REFUSED, e.error(), "the sign-in was declined",
                            "run the login again and accept the request", e);
                    case "expired_token", "code_expired" -> throw new TokenException(
                            TokenException.Reason.GRANT_REFUSED, e.error(), "code " + userCode
                                    + " expired before anyone signed in", "run the login again", e);
                    default -> {
                        if (e.reason() != TokenException.Reason.UNAVAILABLE) {
                            throw e;
                        }
                        // RFC 8628 section 3.5: back off when the endpoint cannot be reached.
                        interval = cap(interval.multipliedBy(2));
                    }
                }
            }
        }
    }

    private static Duration cap(Duration d) {
        return d.compareTo(MAX_INTERVAL) > 0 ? MAX_INTERVAL : d;
    }

    private static Optional<Duration> seconds(JsonNode d, String field) {
        JsonNode n = d.get(field);
        if (n == null || !(n.isNumber() || n.isTextual())) {
            return Optional.empty();
        }
        long s = n.isNumber() ? n.asLong() : n.asText().strip().matches("\\d{1,6}") ? Long.parseLong(n.asText().strip())
                : -1;
        return s > 0 && s < 86_400 ? Optional.of(Duration.ofSeconds(s)) : Optional.empty();
    }

    private static String required(JsonNode d, String field, OAuthEndpoint from) throws TokenException {
        Optional<String> v = OAuthEndpoint.text(d, field);
        if (v.isEmpty() || v.get().length() > OAuthEndpoint.MAX_TOKEN_CHARS) {
            throw malformed(from, field);
        }
        return v.get();
    }

    private static TokenException malformed(OAuthEndpoint from, String field) {
        return new TokenException(TokenException.Reason.UNAVAILABLE, Optional.empty(), from.uri().getHost()
                + " answered the device authorization request without " + field,
                "check the device authorization URL", null);
    }
}
