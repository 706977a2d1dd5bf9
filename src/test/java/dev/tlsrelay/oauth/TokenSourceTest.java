package dev.tlsrelay.oauth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.config.ConfigLoader;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.support.OAuthProvider;
import dev.tlsrelay.support.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The token cache and its manners towards the provider, against a real local HTTPS provider. */
@Timeout(30)
class TokenSourceTest {

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();
    private OAuthProvider idp;

    @BeforeEach
    void provider() throws Exception {
        idp = OAuthProvider.start(pki.good());
    }

    @AfterEach
    void stop() {
        idp.close();
    }

    @Test
    void theCachedTokenServesUntilHalfItsLifeThenOneRequestRenewsIt() throws Exception {
        idp.lifetime(Duration.ofSeconds(2));
        TokenSource tokens = TokenSource.of(oauth2(Map.of()), Duration.ofSeconds(10));
        AccessToken first = tokens.token();
        assertSame(first, tokens.token());
        assertEquals(1, idp.requests("client_credentials"));
        Thread.sleep(1100);
        AccessToken second = tokens.token();
        assertNotEquals(first.value(), second.value());
        assertEquals(2, idp.requests("client_credentials"));
        assertFalse(first.toString().contains(first.value()), "toString never shows the token");
    }

    @Test
    void tokensRefusedTwiceWithinTheIntervalAreNotReplacedAgain() throws Exception {
        TokenSource tokens = TokenSource.of(oauth2(Map.of()), Duration.ofSeconds(10));
        AccessToken first = tokens.token();
        AccessToken second = tokens.replace(first, "535 5.7.3 Authentication unsuccessful");
        assertNotEquals(first.value(), second.value());
        // Another session saw the same refusal a moment later: it gets the replacement, no new request.
        assertSame(second, tokens.replace(first, "535 5.7.3 Authentication unsuccessful"));
        assertEquals(2, idp.requests("client_credentials"));

        TokenException e = assertThrows(TokenException.class, () -> tokens.replace(second, "535 5.7.3 again"));
        assertEquals(TokenException.Reason.UPSTREAM_REFUSED, e.reason());
        assertTrue(e.fix().contains("SMTP.SendAsApp"), e.fix());
        // Until the interval is over, no token at all: neither a request nor the refused one.
        assertSame(e, assertThrows(TokenException.class, tokens::token));
        assertEquals(2, idp.requests("client_credentials"));
    }

    @Test
    void aWrongClientSecretIsNamedWithoutBeingShown() throws Exception {
        Path wrong = dir.resolve("wrong-secret");
        Files.writeString(wrong, "not-the-secret-9f8e\n");
        TokenSource tokens = TokenSource.of(oauth2(Map.of("upstream.oauth2.client-secret-file", wrong.toString())),
                Duration.ofSeconds(10));
        TokenException e = assertThrows(TokenException.class, tokens::token);
        assertEquals(TokenException.Reason.CLIENT_REFUSED, e.reason());
        assertEquals("invalid_client", e.error().orElseThrow());
        assertTrue(e.getMessage().contains("AADSTS7000215"), e.getMessage());
        assertTrue(e.fix().contains("upstream.oauth2.client-id"), e.fix());
        assertFalse(e.getMessage().contains("not-the-secret-9f8e") || e.fix().contains("not-the-secret-9f8e"));
        // Held: the next caller gets the same answer without a second request.
        assertSame(e, assertThrows(TokenException.class, tokens::token));
        assertEquals(1, idp.requests().size());
    }

    @Test
    void anUntrustedTokenEndpointIsNeverSentTheSecret() throws Exception {
        idp.close();
        idp = OAuthProvider.start(TestPki.untrusted());
        TokenSource tokens = TokenSource.of(oauth2(Map.of()), Duration.ofSeconds(10));
        TokenException e = assertThrows(TokenException.class, tokens::token);
        assertEquals(TokenException.Reason.UNAVAILABLE, e.reason());
        assertTrue(idp.requests().isEmpty());
    }

    @Test
    void aProviderStuckMidAnswerIsCutAtTheTimeout() throws Exception {
        idp.stallAnswers(true);
        TokenSource tokens = TokenSource.of(oauth2(Map.of()), Duration.ofSeconds(1));
        long start = System.nanoTime();
        TokenException e = assertThrows(TokenException.class, tokens::token);
        assertEquals(TokenException.Reason.UNAVAILABLE, e.reason());
        assertTrue(e.getMessage().contains("no complete answer within 1s"), e.getMessage());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(5)) < 0,
                "bounded by the timeout, not by the provider");
    }

    @Test
    void theRefreshTokenFileIsReplacedWholeAndPrivate() throws Exception {
        Path file = dir.resolve("rt");
        Files.writeString(file, "old-token\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        RefreshTokenFile.write(file, "new-token_1.2~3");
        assertEquals("new-token_1.2~3", RefreshTokenFile.read(file));
        assertEquals("new-token_1.2~3\n", Files.readString(file));
        OAuthFixtures.assertOwnerOnly(file);
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file left");
        }
        assertThrows(IllegalArgumentException.class, () -> RefreshTokenFile.write(file, "two\nlines"));
        assertEquals("new-token_1.2~3", RefreshTokenFile.read(file), "a refused write changes nothing");

        Files.writeString(file, "\n");
        assertThrows(java.io.IOException.class, () -> RefreshTokenFile.read(file));
        Files.writeString(file, "has a space\n");
        assertThrows(java.io.IOException.class, () -> RefreshTokenFile.read(file));
    }

    private RelayConfig.OAuth2 oauth2(Map<String, String> extra) throws Exception {
        Path ca = pki.writeCa(dir);
        Path secret = dir.resolve("secret");
        Files.writeString(secret, OAuthProvider.CLIENT_SECRET + "\n");
        Map<String, String> m = new HashMap<>();
        m.put("upstream.host", "smtp.office365.com");
        m.put("upstream.auth.username", "scanner@office.test");
        m.put("upstream.oauth2.token-url", idp.tokenUri().toString());
        m.put("upstream.oauth2.client-id", OAuthProvider.CLIENT_ID);
        m.put("upstream.oauth2.client-secret-file", secret.toString());
        m.put("upstream.oauth2.scope", OAuthProvider.SCOPE);
        m.put("upstream.oauth2.ca-file", ca.toString());
        m.putAll(extra);
        return ConfigLoader.fromValues(m, Map.of()).upstream().auth().orElseThrow().oauth2().orElseThrow();
    }
}
