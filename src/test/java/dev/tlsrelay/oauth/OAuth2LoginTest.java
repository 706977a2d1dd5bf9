package dev.tlsrelay.oauth;

import static dev.tlsrelay.oauth.OAuthFixtures.assertOwnerOnly;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.cli.Main;
import dev.tlsrelay.support.OAuthProvider;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.TlsRelayProcess;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tlsrelay oauth2 login} run as a real process against a local HTTPS identity provider: the
 * device authorization grant (Microsoft) and the loopback authorization code grant with PKCE
 * (Google). Either way the refresh token ends up in a file only its owner can read, and is never
 * printed.
 */
@Timeout(60)
class OAuth2LoginTest {

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();
    private OAuthProvider idp;

    @BeforeEach
    void provider() throws Exception {
        idp = OAuthProvider.start(pki.good()).requireSecret(false);
    }

    @AfterEach
    void stop() {
        idp.close();
    }

    @Test
    void deviceLoginPollsAtTheAskedIntervalSlowsDownAndStoresTheTokenPrivately() throws Exception {
        // The person takes two polls to sign in; the provider asks to slow down once on the way.
        idp.devicePolls("authorization_pending", "slow_down");
        Path tokenFile = dir.resolve("state").resolve("m365-refresh-token");
        try (TlsRelayProcess login = TlsRelayProcess.start(dir, "oauth2", "login", "--provider", "microsoft",
                "--client-id", OAuthProvider.CLIENT_ID, "--tenant", "contoso.onmicrosoft.com",
                "--device-url", idp.deviceUri().toString(), "--token-url", idp.tokenUri().toString(),
                "--ca-file", pki.writeCa(dir).toString(), "--token-file", tokenFile.toString())) {
            String instruction = login.awaitLine(l -> l.contains("enter the code"), Duration.ofSeconds(20));
            assertTrue(instruction.contains("/devicelogin") && instruction.contains("TLSR-1"), instruction);

            assertEquals(0, login.waitFor(Duration.ofSeconds(30)), login.output());

            List<Instant> polls = idp.devicePollTimes();
            assertEquals(3, polls.size(), "pending, slow_down, then the tokens: " + polls);
            assertTrue(Duration.between(polls.get(0), polls.get(1)).toMillis() >= 900,
                    "the provider's 1 s interval is kept: " + polls);
            assertTrue(Duration.between(polls.get(1), polls.get(2)).toMillis() >= 5900,
                    "slow_down adds 5 s to the interval (RFC 8628): " + polls);

            String saved = RefreshTokenFile.read(tokenFile);
            assertTrue(idp.validRefreshTokens().contains(saved));
            assertOwnerOnly(tokenFile);
            assertTrue(login.output().contains("upstream.oauth2.refresh-token-file = " + tokenFile.toAbsolutePath()),
                    login.output());
            assertTrue(login.output().contains("upstream.oauth2.token-url = " + idp.tokenUri()), login.output());
            assertNoSecretPrinted(login.output());
        }
    }

    @Test
    void browserLoginWithPkceStoresTheTokenPrivately() throws Exception {
        Path tokenFile = dir.resolve("google-refresh-token");
        try (TlsRelayProcess login = googleLogin(tokenFile)) {
            Map<String, String> consent = consentRequest(login);
            assertEquals("https://mail.google.com/", consent.get("scope"));
            assertEquals("offline", consent.get("access_type"));
            assertEquals("S256", consent.get("code_challenge_method"));
            assertTrue(consent.get("redirect_uri").startsWith("http://127.0.0.1:"), consent.toString());

            // The person consents; the provider redirects the browser back to the login on 127.0.0.1.
            String code = idp.consent(consent.get("code_challenge"), consent.get("redirect_uri"));
            assertEquals(200, browserComesBack(consent.get("redirect_uri"), code, consent.get("state")));

            assertEquals(0, login.waitFor(Duration.ofSeconds(20)), login.output());
            assertTrue(idp.validRefreshTokens().contains(RefreshTokenFile.read(tokenFile)));
            assertOwnerOnly(tokenFile);
            assertTrue(login.output().contains("upstream.oauth2.client-secret-file = "), login.output());
            assertNoSecretPrinted(login.output());
        }
    }

    @Test
    void aRedirectWithAnotherStateIsRefused() throws Exception {
        Path tokenFile = dir.resolve("google-refresh-token");
        try (TlsRelayProcess login = googleLogin(tokenFile)) {
            Map<String, String> consent = consentRequest(login);
            String code = idp.consent(consent.get("code_challenge"), consent.get("redirect_uri"));
            browserComesBack(consent.get("redirect_uri"), code, "forged-state");

            assertEquals(1, login.waitFor(Duration.ofSeconds(20)), login.output());
            assertTrue(login.output().contains("does not belong to this login"), login.output());
            assertFalse(Files.exists(tokenFile));
            assertEquals(0, idp.requests("authorization_code"), "the code was never exchanged");
        }
    }

    @Test
    void aDeclinedDeviceLoginStoresNothing() throws Exception {
        idp.devicePolls("access_denied");
        Path tokenFile = dir.resolve("refresh-token");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), "oauth2", "login",
                "--provider", "microsoft", "--client-id", OAuthProvider.CLIENT_ID, "--device-url",
                idp.deviceUri().toString(), "--token-url", idp.tokenUri().toString(), "--ca-file",
                pki.writeCa(dir).toString(), "--token-file", tokenFile.toString());
        assertEquals(1, exit, out + "\n" + err);
        assertTrue(out.toString().contains("enter the code TLSR-1"), out.toString());
        assertTrue(err.toString().contains("the sign-in was declined"), err.toString());
        assertFalse(Files.exists(tokenFile));
    }

    @Test
    void usageErrorsExitWith2() {
        StringWriter err = new StringWriter();
        int exit = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "oauth2", "login",
                "--provider", "google", "--client-id", "x");
        assertEquals(2, exit, err.toString());
        assertTrue(err.toString().contains("--client-secret-file"), err.toString());

        err = new StringWriter();
        exit = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "oauth2", "login",
                "--provider", "yahoo", "--client-id", "x");
        assertEquals(2, exit, err.toString());
        assertTrue(err.toString().contains("expected google or microsoft"), err.toString());

        err = new StringWriter();
        exit = Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "oauth2", "login",
                "--provider", "microsoft", "--client-id", "x", "--token-url", "http://127.0.0.1/token");
        assertEquals(2, exit, err.toString());
        assertTrue(err.toString().contains("expected an https:// URL"), err.toString());
    }

    private TlsRelayProcess googleLogin(Path tokenFile) throws Exception {
        Path secret = dir.resolve("google-client-secret");
        Files.writeString(secret, OAuthProvider.CLIENT_SECRET + "\n");
        return TlsRelayProcess.start(dir, "oauth2", "login", "--provider", "google",
                "--client-id", OAuthProvider.CLIENT_ID, "--client-secret-file", secret.toString(),
                "--auth-url", idp.authorizationUri().toString(), "--token-url", idp.tokenUri().toString(),
                "--ca-file", pki.writeCa(dir).toString(), "--token-file", tokenFile.toString());
    }

    /** The parameters of the consent URL the login printed. */
    private Map<String, String> consentRequest(TlsRelayProcess login) throws InterruptedException {
        String line = login.awaitLine(l -> l.strip().startsWith(idp.authorizationUri() + "?"), Duration.ofSeconds(20));
        return BrowserLogin.parse(URI.create(line.strip()).getRawQuery());
    }

    /** What the browser does after consent: GET the redirect URI with the code and state. */
    private static int browserComesBack(String redirectUri, String code, String state) throws Exception {
        try (HttpClient http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build()) {
            return http.send(HttpRequest.newBuilder(URI.create(redirectUri + "/?state=" + state + "&code=" + code))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        }
    }

    private void assertNoSecretPrinted(String output) {
        for (String s : idp.secrets()) {
            assertFalse(output.contains(s), "the login printed a secret: " + s.substring(0, 4) + "...");
        }
    }
}
