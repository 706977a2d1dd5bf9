package dev.tlsrelay.support;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.tlsrelay.tls.HeldCertificate;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A small OAuth 2.0 identity provider on 127.0.0.1 over HTTPS (the JDK's own server with a test
 * certificate): a token endpoint for the client credentials, refresh token, device code and
 * authorization code (PKCE) grants, and a device authorization endpoint. Access tokens live as long
 * as the test says; {@link #status} tells a test upstream whether one is usable right now. It keeps
 * every secret it ever handed out, so tests can check none of them leaked.
 */
public final class OAuthProvider implements AutoCloseable {

    public static final String CLIENT_ID = "tlsrelay-test-client";
    public static final String CLIENT_SECRET = "client-secret-Zq8wX3";
    public static final String SCOPE = "https://outlook.office365.com/.default";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What a presented access token is, right now. */
    public enum Status { VALID, EXPIRED, REVOKED, UNKNOWN }

    /** One request to the token endpoint. */
    public record Request(String grant, Instant at, int status, Optional<String> error) {}

    private final HttpsServer server;
    private final Map<String, Instant> accessTokens = new ConcurrentHashMap<>();
    private final Set<String> revokedAccess = ConcurrentHashMap.newKeySet();
    private final Set<String> refreshTokens = ConcurrentHashMap.newKeySet();
    private final Set<String> everyRefreshToken = ConcurrentHashMap.newKeySet();
    private final Map<String, String[]> codes = new ConcurrentHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final List<Instant> devicePolls = new CopyOnWriteArrayList<>();
    private final AtomicInteger deviceCodes = new AtomicInteger();

    private volatile Duration lifetime = Duration.ofMinutes(60);
    private volatile Duration delay = Duration.ZERO;
    private volatile boolean rotate;
    private volatile boolean requireSecret = true;
    private volatile boolean stall;
    /** Device flow script: what each poll answers, in order; then success. */
    private final List<String> devicePollAnswers = new CopyOnWriteArrayList<>();
    private volatile int deviceInterval = 1;

    private OAuthProvider(HttpsServer server) {
        this.server = server;
    }

    public static OAuthProvider start(HeldCertificate identity) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] pw = "idp".toCharArray();
        ks.setKeyEntry("idp", identity.keyPair().getPrivate(), pw, identity.chain());
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, pw);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        HttpsServer s = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.setHttpsConfigurator(new HttpsConfigurator(ctx));
        s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        OAuthProvider p = new OAuthProvider(s);
        s.createContext("/token", p::token);
        s.createContext("/devicecode", p::device);
        s.start();
        return p;
    }

    // ---- what the test controls ---------------------------------------------------------------

    /** Lifetime of access tokens issued from now on (whole seconds go on the wire). */
    public OAuthProvider lifetime(Duration d) {
        this.lifetime = d;
        return this;
    }

    /** Each token request waits this long before it is answered. */
    public OAuthProvider delay(Duration d) {
        this.delay = d;
        return this;
    }

    /** Rotate refresh tokens: each refresh returns a new one and retires the one used. */
    public OAuthProvider rotateRefreshTokens(boolean on) {
        this.rotate = on;
        return this;
    }

    /** Whether the client secret is required (public clients such as Microsoft's device flow send none). */
    public OAuthProvider requireSecret(boolean on) {
        this.requireSecret = on;
        return this;
    }

    /** Answer 200 and the start of a body, then nothing more: a provider stuck mid-answer. */
    public OAuthProvider stallAnswers(boolean on) {
        this.stall = on;
        return this;
    }

    /** A refresh token, as a login would have produced it. */
    public String issueRefreshToken() {
        String t = "rt-" + random();
        refreshTokens.add(t);
        everyRefreshToken.add(t);
        return t;
    }

    /** The user revoked the app, or an administrator the sessions: every refresh token is refused from now. */
    public void revokeRefreshTokens() {
        refreshTokens.clear();
    }

    /** The upstream will refuse this access token from now on, although it has not expired. */
    public void revoke(String accessToken) {
        revokedAccess.add(accessToken);
    }

    /** The device flow answers these errors to the first polls, in order, then issues tokens. */
    public OAuthProvider devicePolls(String... answers) {
        devicePollAnswers.clear();
        devicePollAnswers.addAll(List.of(answers));
        return this;
    }

    /**
     * A person consented in the browser: the code the provider would redirect with, bound to the
     * PKCE challenge and redirect URI of the consent request.
     */
    public String consent(String codeChallenge, String redirectUri) {
        String code = "code-" + random();
        codes.put(code, new String[] {codeChallenge, redirectUri});
        return code;
    }

    // ---- what the test asks -------------------------------------------------------------------

    public URI tokenUri() {
        return URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/token");
    }

    public URI deviceUri() {
        return URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/devicecode");
    }

    public URI authorizationUri() {
        return URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/authorize");
    }

    public Status status(String accessToken) {
        Instant expires = accessTokens.get(accessToken);
        if (expires == null) {
            return Status.UNKNOWN;
        }
        if (revokedAccess.contains(accessToken)) {
            return Status.REVOKED;
        }
        return Instant.now().isBefore(expires) ? Status.VALID : Status.EXPIRED;
    }

    /** Token endpoint requests so far. */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    public long requests(String grant) {
        return requests.stream().filter(r -> r.grant().equals(grant)).count();
    }

    public List<Instant> devicePollTimes() {
        return List.copyOf(devicePolls);
    }

    /** The refresh tokens that work right now. */
    public Set<String> validRefreshTokens() {
        return Set.copyOf(refreshTokens);
    }

    /** Every token and secret this provider ever issued or knows: none may appear in a log. */
    public List<String> secrets() {
        List<String> all = new ArrayList<>(accessTokens.keySet());
        all.addAll(everyRefreshToken);
        all.addAll(codes.keySet());
        all.add(CLIENT_SECRET);
        return all;
    }

    public List<String> accessTokens() {
        return List.copyOf(accessTokens.keySet());
    }

    @Override
    public void close() {
        server.stop(0);
    }

    // ---- the endpoints ------------------------------------------------------------------------

    private void token(HttpExchange ex) throws IOException {
        try (ex) {
            Map<String, String> form = form(ex);
            sleep(delay);
            if (stall) {
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(200, 0);
                ex.getResponseBody().write("{\"access_token\":".getBytes(StandardCharsets.US_ASCII));
                ex.getResponseBody().flush();
                sleep(Duration.ofSeconds(20));
                return;
            }
            String grant = form.getOrDefault("grant_type", "");
            if (!CLIENT_ID.equals(form.get("client_id"))
                    || (requireSecret && !grant.endsWith("device_code") && !CLIENT_SECRET.equals(form.get("client_secret")))) {
                error(ex, grant, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
                return;
            }
            switch (grant) {
                case "client_credentials" -> {
                    if (!SCOPE.equals(form.get("scope"))) {
                        error(ex, grant, 400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.");
                        return;
                    }
                    tokens(ex, grant, false);
                }
                case "refresh_token" -> {
                    String rt = form.getOrDefault("refresh_token", "");
                    if (!refreshTokens.contains(rt)) {
                        error(ex, grant, 400, "invalid_grant", "AADSTS70008: The provided authorization code or refresh"
                                + " token has expired due to inactivity.");
                        return;
                    }
                    if (rotate) {
                        refreshTokens.remove(rt);
                    }
                    tokens(ex, grant, rotate);
                }
                case "urn:ietf:params:oauth:grant-type:device_code" -> {
                    devicePolls.add(Instant.now());
                    if (!devicePollAnswers.isEmpty()) {
                        String answer = devicePollAnswers.remove(0);
                        error(ex, grant, 400, answer, "device flow: " + answer);
                        return;
                    }
                    tokens(ex, grant, true);
                }
                case "authorization_code" -> {
                    String[] bound = codes.remove(form.getOrDefault("code", ""));
                    if (bound == null || !bound[1].equals(form.get("redirect_uri"))
                            || !bound[0].equals(s256(form.getOrDefault("code_verifier", "")))) {
                        error(ex, grant, 400, "invalid_grant", "code, redirect_uri or code_verifier wrong");
                        return;
                    }
                    tokens(ex, grant, true);
                }
                default -> error(ex, grant, 400, "unsupported_grant_type", grant);
            }
        }
    }

    private void device(HttpExchange ex) throws IOException {
        try (ex) {
            Map<String, String> form = form(ex);
            if (!CLIENT_ID.equals(form.get("client_id"))) {
                error(ex, "device", 400, "invalid_client", "unknown client");
                return;
            }
            ObjectNode o = JSON.createObjectNode();
            o.put("device_code", "dc-" + random());
            o.put("user_code", "TLSR-" + deviceCodes.incrementAndGet());
            o.put("verification_uri", "https://127.0.0.1:" + server.getAddress().getPort() + "/devicelogin");
            o.put("expires_in", 120);
            o.put("interval", deviceInterval);
            o.put("message", "To sign in, use a web browser to open the page and enter the code to authenticate.");
            send(ex, 200, o);
        }
    }

    private void tokens(HttpExchange ex, String grant, boolean withRefreshToken) throws IOException {
        String access = "at-" + random();
        accessTokens.put(access, Instant.now().plus(lifetime));
        ObjectNode o = JSON.createObjectNode();
        o.put("token_type", "Bearer");
        o.put("expires_in", Math.max(1, lifetime.toSeconds()));
        o.put("access_token", access);
        if (withRefreshToken) {
            o.put("refresh_token", issueRefreshToken());
        }
        requests.add(new Request(grant, Instant.now(), 200, Optional.empty()));
        send(ex, 200, o);
    }

    private void error(HttpExchange ex, String grant, int status, String error, String description) throws IOException {
        requests.add(new Request(grant, Instant.now(), status, Optional.of(error)));
        ObjectNode o = JSON.createObjectNode();
        o.put("error", error);
        o.put("error_description", description);
        send(ex, status, o);
    }

    private static void send(HttpExchange ex, int status, ObjectNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.getResponseHeaders().add("Cache-Control", "no-store");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static Map<String, String> form(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readNBytes(64 * 1024), StandardCharsets.UTF_8);
        Map<String, String> out = new HashMap<>();
        for (String pair : body.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    private static String s256(String verifier) {
        try {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(
                    MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String random() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static void sleep(Duration d) {
        if (d.isZero()) {
            return;
        }
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
