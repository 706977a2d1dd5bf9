package dev.tlsrelay.oauth;

import static dev.tlsrelay.oauth.OAuthFixtures.MAILBOX;
import static dev.tlsrelay.oauth.OAuthFixtures.RECIPIENT;
import static dev.tlsrelay.oauth.OAuthFixtures.SENDER;
import static dev.tlsrelay.oauth.OAuthFixtures.assertNoSecrets;
import static dev.tlsrelay.oauth.OAuthFixtures.assertOwnerOnly;
import static dev.tlsrelay.oauth.OAuthFixtures.with;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.LogCapture;
import dev.tlsrelay.support.OAuthProvider;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.SmtpRefusal;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.XOAuth2Upstream;
import jakarta.mail.MessagingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The relay logging in upstream with OAuth 2.0 (AUTH XOAUTH2), end to end: a real relay, a real
 * HTTPS token endpoint issuing short-lived tokens, and a STARTTLS smarthost that takes a token only
 * while it is valid. Every test also checks that no token or secret reached the log or the audit.
 */
@Timeout(60)
class XOAuth2RelayTest {

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();
    private OAuthProvider idp;
    private LogCapture logs;

    @BeforeEach
    void provider() throws Exception {
        idp = OAuthProvider.start(pki.good());
        logs = new LogCapture();
    }

    @AfterEach
    void stop() {
        logs.close();
        idp.close();
    }

    @Test
    void aRelayRunAcrossSeveralExpiriesRefreshesAndNeverSendsAnExpiredTokenTwice() throws Exception {
        // Two-second tokens, renewed after half their life; the provider rotates the refresh token each time.
        idp.lifetime(Duration.ofSeconds(2)).rotateRefreshTokens(true);
        try (XOAuth2Upstream upstream = XOAuth2Upstream.start(pki.good(), MAILBOX, idp, XOAuth2Upstream.Style.MICROSOFT)) {
            Map<String, String> settings = with(OAuthFixtures.refreshToken(dir, pki, idp, upstream),
                    "upstream.pool.max-messages-per-connection", "1"); // every message authenticates anew
            Path tokenFile = OAuthFixtures.refreshTokenFile(dir);
            String firstRefreshToken = RefreshTokenFile.read(tokenFile);
            int sent = 0;
            try (RelayFixture relay = RelayFixture.start(dir, settings)) {
                Instant end = Instant.now().plus(Duration.ofMillis(5500));
                while (Instant.now().isBefore(end)) {
                    String reply = LegacyClient.send(relay.port(), SENDER, LegacyClient.sampleMessage("m" + sent),
                            RECIPIENT);
                    assertTrue(reply.startsWith("250"), reply);
                    sent++;
                    Thread.sleep(200);
                }
                assertTrue(upstream.awaitMessages(sent, Duration.ofSeconds(10)));

                long refreshes = idp.requests("refresh_token");
                assertTrue(refreshes >= 3, "several expiries, several refreshes: " + refreshes);
                assertTrue(refreshes <= sent, "a cached token serves many messages: " + refreshes + " for " + sent);
                List<XOAuth2Upstream.Attempt> attempts = upstream.attempts();
                Map<String, Long> refusals = attempts.stream().filter(a -> !a.accepted())
                        .collect(Collectors.groupingBy(XOAuth2Upstream.Attempt::token, Collectors.counting()));
                assertTrue(refusals.values().stream().allMatch(n -> n == 1),
                        "a refused token is never sent again: " + refusals.values());
                assertTrue(attempts.stream().filter(a -> a.status() == OAuthProvider.Status.EXPIRED).count() <= 1,
                        "tokens are renewed before they expire: " + attempts);
                assertEquals(sent, upstream.received().size());
                assertTrue(upstream.received().stream().allMatch(r -> r.authUser().equals(MAILBOX)));

                // The provider rotated the refresh token at each refresh: the file holds the live one.
                String saved = RefreshTokenFile.read(tokenFile);
                assertNotEquals(firstRefreshToken, saved);
                assertEquals(java.util.Set.of(saved), idp.validRefreshTokens());
                assertOwnerOnly(tokenFile);
                try (var leftovers = Files.list(tokenFile.getParent())) {
                    assertEquals(List.of(tokenFile), leftovers.toList(), "no temporary files left behind");
                }

                List<JsonNode> relayed = relay.awaitAudit("message.relayed", sent, Duration.ofSeconds(5));
                assertTrue(relayed.stream().allMatch(m -> m.path("auth_mechanism").asText().equals("xoauth2")),
                        relayed.toString());
                assertNoSecrets("the audit", relay.auditText(), idp);
            }
            assertTrue(logs.text().contains("rotated the OAuth refresh token"), logs.text());
            assertNoSecrets("the log", logs.text(), idp);
        }
    }

    @Test
    void concurrentSessionsCauseOneTokenRequest() throws Exception {
        // A slow token endpoint, so every session asks while the first request is still under way.
        idp.lifetime(Duration.ofSeconds(3)).delay(Duration.ofMillis(500));
        try (XOAuth2Upstream upstream = XOAuth2Upstream.start(pki.good(), MAILBOX, idp, XOAuth2Upstream.Style.MICROSOFT);
                RelayFixture relay = RelayFixture.start(dir, with(OAuthFixtures.clientCredentials(dir, pki, idp, upstream),
                        "upstream.pool.max-connections", "10", "upstream.pool.max-messages-per-connection", "1"))) {
            sendAtOnce(relay, 8, "wave1");
            assertEquals(1, idp.requests("client_credentials"), "eight sessions, one token request: " + idp.requests());
            assertTrue(upstream.awaitMessages(8, Duration.ofSeconds(10)));

            // Past half the token's life the next wave renews it, again once for all.
            Thread.sleep(1700);
            sendAtOnce(relay, 8, "wave2");
            assertEquals(2, idp.requests("client_credentials"), idp.requests().toString());
            assertTrue(upstream.awaitMessages(16, Duration.ofSeconds(10)));
            assertEquals(2, upstream.attempts().stream().map(XOAuth2Upstream.Attempt::token).distinct().count());
            assertNoSecrets("the audit", relay.auditText(), idp);
        }
        assertNoSecrets("the log", logs.text(), idp);
    }

    @ParameterizedTest
    @EnumSource(XOAuth2Upstream.Style.class)
    void aTokenTheUpstreamRefusesIsReplacedOnceAndNeverSentAgain(XOAuth2Upstream.Style style) throws Exception {
        idp.lifetime(Duration.ofMinutes(10));
        try (XOAuth2Upstream upstream = XOAuth2Upstream.start(pki.good(), MAILBOX, idp, style);
                RelayFixture relay = RelayFixture.start(dir, with(OAuthFixtures.clientCredentials(dir, pki, idp, upstream),
                        "upstream.pool.max-messages-per-connection", "1"))) {
            send(relay, "first");
            String first = upstream.attempts().get(0).token();
            // Revoked on the smarthost's side, ten minutes before it expires.
            idp.revoke(first);

            send(relay, "second");
            send(relay, "third");

            List<XOAuth2Upstream.Attempt> attempts = upstream.attempts();
            assertEquals(4, attempts.size(), attempts.toString());
            assertEquals(List.of(true, false, true, true), attempts.stream().map(XOAuth2Upstream.Attempt::accepted).toList());
            assertEquals(2, attempts.stream().filter(a -> a.token().equals(first)).count(),
                    "the refused token was sent once after it was revoked, never again");
            assertEquals(2, idp.requests("client_credentials"), "one replacement, then the cache: " + idp.requests());
            assertEquals(3, upstream.received().size());
            // The retry is a connection of its own, audited like any other.
            assertEquals(4, relay.audit("tls.handshake").size());
            relay.awaitAudit("message.relayed", 3, Duration.ofSeconds(5));
            String fingerprint = new AccessToken(first, Instant.EPOCH, Instant.EPOCH.plusSeconds(1)).fingerprint();
            assertTrue(logs.text().contains("refused OAuth access token " + fingerprint), logs.text());
            if (style == XOAuth2Upstream.Style.GOOGLE) {
                assertTrue(logs.text().contains("XOAUTH2 error {\"status\":\"401\""), "Google's challenge, decoded: "
                        + logs.text());
            }
            assertNoSecrets("the audit", relay.auditText(), idp);
        }
        assertNoSecrets("the log", logs.text(), idp);
    }

    @Test
    void aRevokedRefreshTokenGivesA451WithTheFixAndALoginRepairsIt() throws Exception {
        try (XOAuth2Upstream upstream = XOAuth2Upstream.start(pki.good(), MAILBOX, idp, XOAuth2Upstream.Style.MICROSOFT)) {
            Map<String, String> settings = OAuthFixtures.refreshToken(dir, pki, idp, upstream);
            idp.revokeRefreshTokens();
            try (RelayFixture relay = RelayFixture.start(dir, settings)) {
                SmtpRefusal refusal = sendExpectingRefusal(relay, "revoked");
                assertEquals(451, refusal.code(), refusal.toString());
                assertTrue(refusal.text().contains("451 4.7.0"), refusal.toString());
                assertTrue(refusal.text().contains("run tlsrelay oauth2 login again"), refusal.toString());
                JsonNode failed = relay.awaitAudit("message.failed", 1, Duration.ofSeconds(5)).get(0);
                assertTrue(failed.path("reason").asText().contains("oauth2 login"), failed.toString());
                assertTrue(logs.lines().stream().anyMatch(l -> l.startsWith("ERROR")
                        && l.contains("invalid_grant") && l.contains("run tlsrelay oauth2 login again")), logs.text());

                // More mail does not hammer the provider with a token it already refused.
                assertEquals(451, sendExpectingRefusal(relay, "again").code());
                assertEquals(1, idp.requests("refresh_token"));
                assertTrue(upstream.attempts().isEmpty(), "nothing was sent upstream without a token");

                // A new login writes the file; the running relay picks it up by itself.
                RefreshTokenFile.write(OAuthFixtures.refreshTokenFile(dir), idp.issueRefreshToken());
                send(relay, "after login");
                assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(5)));
                assertNoSecrets("the audit", relay.auditText(), idp);
            }
        }
        assertNoSecrets("the log", logs.text(), idp);
    }

    @Test
    void aRevokedRefreshTokenDefersSpooledMailUntilTheNextLogin() throws Exception {
        try (XOAuth2Upstream upstream = XOAuth2Upstream.start(pki.good(), MAILBOX, idp, XOAuth2Upstream.Style.MICROSOFT)) {
            Map<String, String> settings = with(OAuthFixtures.refreshToken(dir, pki, idp, upstream),
                    "delivery.mode", "spool", "spool.retry.initial", "300ms", "spool.retry.max-interval", "500ms");
            idp.revokeRefreshTokens();
            try (RelayFixture relay = RelayFixture.start(dir, settings)) {
                String reply = LegacyClient.send(relay.port(), SENDER, LegacyClient.sampleMessage("spooled"), RECIPIENT);
                assertTrue(reply.startsWith("250"), "the device's mail is safe on disk: " + reply);
                JsonNode deferred = relay.awaitAudit("message.deferred", 1, Duration.ofSeconds(10)).get(0);
                assertTrue(deferred.path("reason").asText().contains("run tlsrelay oauth2 login again"),
                        deferred.toString());
                assertEquals(1, relay.relay.queue().orElseThrow().queued());
                assertTrue(upstream.received().isEmpty());

                RefreshTokenFile.write(OAuthFixtures.refreshTokenFile(dir), idp.issueRefreshToken());
                assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(10)), "delivered at a retry after the login");
                JsonNode relayed = relay.awaitAudit("message.relayed", 1, Duration.ofSeconds(5)).get(0);
                assertEquals("xoauth2", relayed.path("auth_mechanism").asText());
                assertNoSecrets("the audit", relay.auditText(), idp);
            }
        }
        assertNoSecrets("the log", logs.text(), idp);
    }

    @Test
    void aTokenEndpointWithTheWrongCertificateIsNotTrustedWithTheSecret() throws Exception {
        idp.close();
        idp = OAuthProvider.start(pki.wrongHost());
        try (XOAuth2Upstream upstream = XOAuth2Upstream.start(pki.good(), MAILBOX, idp, XOAuth2Upstream.Style.MICROSOFT);
                RelayFixture relay = RelayFixture.start(dir, OAuthFixtures.clientCredentials(dir, pki, idp, upstream))) {
            SmtpRefusal refusal = sendExpectingRefusal(relay, "wrong idp");
            assertEquals(451, refusal.code(), refusal.toString());
            assertTrue(refusal.text().contains("cannot get an OAuth token"), refusal.toString());
            assertTrue(idp.requests().isEmpty(), "the request (with the client secret) never reached it");
            assertTrue(logs.text().contains("127.0.0.1"), logs.text());
        }
    }

    private static void send(RelayFixture relay, String subject) throws MessagingException {
        String reply = LegacyClient.send(relay.port(), SENDER, LegacyClient.sampleMessage(subject), RECIPIENT);
        assertTrue(reply.startsWith("250"), reply);
    }

    private static SmtpRefusal sendExpectingRefusal(RelayFixture relay, String subject) {
        MessagingException thrown = assertThrows(MessagingException.class,
                () -> LegacyClient.send(relay.port(), SENDER, LegacyClient.sampleMessage(subject), RECIPIENT));
        return SmtpRefusal.of(thrown);
    }

    private static void sendAtOnce(RelayFixture relay, int sessions, String subject) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(sessions);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> replies = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                int n = i;
                replies.add(pool.submit(() -> {
                    go.await();
                    return LegacyClient.send(relay.port(), SENDER, LegacyClient.sampleMessage(subject + "-" + n),
                            RECIPIENT);
                }));
            }
            go.countDown();
            for (Future<String> f : replies) {
                String reply = f.get(30, TimeUnit.SECONDS);
                assertTrue(reply.startsWith("250"), reply);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
