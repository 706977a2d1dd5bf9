package dev.tlsrelay.relay;

import static dev.tlsrelay.relay.UpstreamFailures.RECIPIENT;
import static dev.tlsrelay.relay.UpstreamFailures.SENDER;
import static dev.tlsrelay.relay.UpstreamFailures.sendExpectingRefusal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.catcher.CaughtMessage;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.SmtpRefusal;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** SMTP AUTH to the upstream, after TLS: accepted, refused, and not offered at all. */
@Timeout(60)
class UpstreamAuthTest {

    private static final String USER = "relay-user";
    private static final String PASSWORD = "s3cret";
    private static final Optional<Catcher.Credentials> REQUIRED =
            Optional.of(new Catcher.Credentials(USER, PASSWORD));

    @TempDir
    Path dir;

    @Test
    void authenticatesWithThePasswordFileAndDelivers() throws Exception {
        TestPki pki = new TestPki();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good(), REQUIRED);
                RelayFixture relay = RelayFixture.start(dir, settings(pki, catcher, PASSWORD))) {
            byte[] raw = LegacyClient.sampleMessage("authenticated");

            String reply = LegacyClient.send(relay.port(), SENDER, raw, RECIPIENT);

            assertTrue(reply.startsWith("250"), reply);
            assertTrue(catcher.awaitMessages(1, Duration.ofSeconds(10)));
            CaughtMessage m = catcher.received().get(0);
            assertEquals(Optional.of(USER), m.authUser());
            PinnedUpstreamTest.assertEndsWith(raw, m);
            relay.awaitAudit("message.relayed", 1, Duration.ofSeconds(5));
            assertSecretAbsent(relay, PASSWORD);
        }
    }

    @Test
    void refusedCredentialsGiveTheClientA451AndDeliverNothing() throws Exception {
        TestPki pki = new TestPki();
        String wrong = "not-the-password-42";
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good(), REQUIRED);
                RelayFixture relay = RelayFixture.start(dir, settings(pki, catcher, wrong))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "wrong password");

            assertEquals(451, refusal.code(), refusal.toString());
            assertTrue(refusal.text().contains("credentials"), refusal.toString());
            assertEquals(List.of(), catcher.received());
            // TLS itself was fine and is audited as such; the message is recorded as failed.
            JsonNode hs = relay.audit("tls.handshake").get(0);
            assertEquals("ok", hs.path("outcome").asText(), hs.toString());
            JsonNode msg = relay.awaitAudit("message.failed", 1, Duration.ofSeconds(5)).get(0);
            assertTrue(msg.path("reason").asText().contains("credentials"), msg.toString());
            assertEquals(List.of(), relay.audit("message.relayed"));
            assertSecretAbsent(relay, wrong);
        }
    }

    @Test
    void credentialsConfiguredButNoAuthOfferedMeansNothingIsSent() throws Exception {
        TestPki pki = new TestPki();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
                RelayFixture relay = RelayFixture.start(dir, settings(pki, catcher, PASSWORD))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "no auth offered");

            assertEquals(451, refusal.code(), refusal.toString());
            assertTrue(refusal.text().contains("AUTH"), refusal.toString());
            // The catcher would have accepted it unauthenticated: an empty inbox proves nothing was sent.
            assertEquals(List.of(), catcher.received());
            assertEquals("ok", relay.audit("tls.handshake").get(0).path("outcome").asText());
            relay.awaitAudit("message.failed", 1, Duration.ofSeconds(5));
            assertEquals(List.of(), relay.audit("message.relayed"));
            assertSecretAbsent(relay, PASSWORD);
        }
    }

    private Path passwordFile(String password) throws Exception {
        Path passwordFile = dir.resolve("upstream-password");
        Files.writeString(passwordFile, password + "\n");
        return passwordFile;
    }

    private Map<String, String> settings(TestPki pki, Catcher catcher, String password) throws Exception {
        Path passwordFile = passwordFile(password);
        return Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(catcher.port()),
                "upstream.security", "starttls",
                "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                "upstream.auth.username", USER,
                "upstream.auth.password-file", passwordFile.toString());
    }

    /** Neither the password nor its AUTH PLAIN / LOGIN encodings may be in the audit. */
    private static void assertSecretAbsent(RelayFixture relay, String password) throws Exception {
        String audit = relay.auditText();
        assertFalse(audit.isBlank(), "the audit was written");
        Base64.Encoder b64 = Base64.getEncoder();
        for (String form : List.of(password,
                b64.encodeToString(password.getBytes(StandardCharsets.UTF_8)),
                b64.encodeToString(("\0" + USER + "\0" + password).getBytes(StandardCharsets.UTF_8)))) {
            assertFalse(audit.contains(form), "the audit must not contain the password (" + form + ")");
        }
    }
}
