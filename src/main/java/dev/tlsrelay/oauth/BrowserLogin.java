package dev.tlsrelay.oauth;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * The authorization code grant for a program without a web server of its own (RFC 8252): a person
 * opens the consent URL in a browser and signs in; the provider redirects the browser to a
 * listener this side opens on 127.0.0.1, with a code that is exchanged, together with the PKCE
 * verifier (RFC 7636), for tokens. When the browser runs on another machine the redirect fails
 * there; the person then pastes the address from the browser's address bar instead.
 */
public final class BrowserLogin {

    private static final SecureRandom RANDOM = new SecureRandom();
    /** Longest pasted line or query string looked at. */
    private static final int MAX_LINE = 8 * 1024;

    private BrowserLogin() {}

    /**
     * Runs the whole grant.
     *
     * @param extra   further parameters of the authorization request ({@code access_type=offline} for Google)
     * @param show    receives the consent URL, to print
     * @param pasted  where a person may paste the redirected address (standard input)
     * @return the tokens, with a refresh token
     */
    public static OAuthEndpoint.Tokens run(URI authorizationUrl, OAuthEndpoint tokenEndpoint, String clientId,
            Optional<String> clientSecret, String scope, Map<String, String> extra, Duration maxWait,
            Consumer<URI> show, InputStream pasted) throws TokenException, InterruptedException, IOException {
        String state = randomWord();
        String verifier = randomWord();
        CompletableFuture<Map<String, String>> redirected = new CompletableFuture<>();
        HttpServer listener = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        listener.createContext("/", exchange -> answer(exchange, redirected));
        listener.start();
        Thread reader = Thread.ofVirtual().name("tlsrelay-login-paste").start(() -> readPasted(pasted, redirected));
        try {
            String redirectUri = "http://127.0.0.1:" + listener.getAddress().getPort();
            Map<String, String> ask = new LinkedHashMap<>();
            ask.put("response_type", "code");
            ask.put("client_id", clientId);
            ask.put("redirect_uri", redirectUri);
            ask.put("scope", scope);
            ask.put("state", state);
            ask.put("code_challenge", challenge(verifier));
            ask.put("code_challenge_method", "S256");
            ask.putAll(extra);
            show.accept(URI.create(authorizationUrl + (authorizationUrl.getRawQuery() == null ? "?" : "&")
                    + query(ask)));
            Map<String, String> params;
            try {
                params = redirected.get(maxWait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new TokenException(TokenException.Reason.GRANT_REFUSED, Optional.empty(),
                        "nobody signed in within " + maxWait.toMinutes() + " minutes", "run the login again", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
            // The state ties the answer to this request: a forged redirect is refused.
            if (!MessageDigest.isEqual(state.getBytes(StandardCharsets.US_ASCII),
                    params.getOrDefault("state", "").getBytes(StandardCharsets.US_ASCII))) {
                throw new TokenException(TokenException.Reason.GRANT_REFUSED, Optional.empty(),
                        "the redirected address does not belong to this login (state differs)",
                        "run the login again and use the address of this run", null);
            }
            if (params.containsKey("error")) {
                throw new TokenException(TokenException.Reason.GRANT_REFUSED,
                        Optional.of(OAuthEndpoint.printable(params.get("error"))), "the sign-in was not completed ("
                        + OAuthEndpoint.printable(params.get("error")) + ")", "run the login again and accept the"
                        + " request", null);
            }
            String code = params.getOrDefault("code", "");
            if (!AccessToken.isPrintableWord(code) || code.length() > OAuthEndpoint.MAX_TOKEN_CHARS) {
                throw new TokenException(TokenException.Reason.GRANT_REFUSED, Optional.empty(),
                        "the redirected address carries no code", "run the login again", null);
            }
            Map<String, String> exchange = new LinkedHashMap<>();
            exchange.put("grant_type", "authorization_code");
            exchange.put("code", code);
            exchange.put("redirect_uri", redirectUri);
            exchange.put("client_id", clientId);
            clientSecret.ifPresent(s -> exchange.put("client_secret", s));
            exchange.put("code_verifier", verifier);
            return tokenEndpoint.requestTokens("authorization_code", exchange, Set.of()).withRefreshToken();
        } finally {
            listener.stop(0);
            reader.interrupt();
        }
    }

    private static void answer(HttpExchange exchange, CompletableFuture<Map<String, String>> redirected)
            throws IOException {
        try (exchange) {
            String rawQuery = exchange.getRequestURI().getRawQuery();
            Map<String, String> params = rawQuery == null || rawQuery.length() > MAX_LINE ? Map.of() : parse(rawQuery);
            if (!"GET".equals(exchange.getRequestMethod()) || !params.containsKey("state")) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            boolean ok = params.containsKey("code");
            byte[] page = ("<!doctype html><title>tlsrelay</title><p>" + (ok
                    ? "Signed in. tlsrelay has the code; you can close this window."
                    : "The sign-in was not completed; see the terminal.") + "</p>").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "text/html; charset=utf-8");
            exchange.getResponseHeaders().add("Cache-Control", "no-store");
            exchange.sendResponseHeaders(200, page.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(page);
            }
            redirected.complete(params);
        }
    }

    /** Lines pasted by a person whose browser could not reach this machine's 127.0.0.1. */
    private static void readPasted(InputStream in, CompletableFuture<Map<String, String>> redirected) {
        StringBuilder line = new StringBuilder();
        try {
            int b;
            while (!redirected.isDone() && (b = in.read()) != -1) {
                if (b == '\n') {
                    String text = line.toString().strip();
                    line.setLength(0);
                    int q = text.indexOf('?');
                    if (q >= 0) {
                        Map<String, String> params = parse(text.substring(q + 1));
                        if (params.containsKey("state")) {
                            redirected.complete(params);
                        }
                    }
                } else if (line.length() < MAX_LINE) {
                    line.append((char) b);
                }
            }
        } catch (IOException e) {
            // No terminal to paste into: the browser redirect is the only way in.
        }
    }

    static Map<String, String> parse(String rawQuery) {
        Map<String, String> out = new HashMap<>();
        String q = rawQuery.contains("#") ? rawQuery.substring(0, rawQuery.indexOf('#')) : rawQuery;
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            try {
                out.putIfAbsent(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                // A malformed escape: that parameter is ignored.
            }
        }
        return out;
    }

    private static String query(Map<String, String> params) {
        return params.entrySet().stream().map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8).replace("+", "%20"))
                .collect(Collectors.joining("&"));
    }

    /** 32 random bytes, base64url: a state or a PKCE verifier (43 characters). */
    private static String randomWord() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** RFC 7636 S256: base64url(SHA-256(verifier)). */
    static String challenge(String verifier) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(h);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
