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
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.smtp.AuthenticationHandler;
import org.subethamail.smtp.AuthenticationHandlerFactory;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.SMTPServer;

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

    @Test
    void noCommonAuthMechanismIsReportedAsSuchAndNothingIsSent() throws Exception {
        TestPki pki = new TestPki();
        // A real SubEthaSMTP server, TLS like the catcher, but offering only CRAM-MD5, which the relay
        // does not use (it sends PLAIN or LOGIN, and only inside TLS).
        AuthenticationHandlerFactory cramMd5Only = new AuthenticationHandlerFactory() {
            @Override
            public List<String> getAuthenticationMechanisms() {
                return List.of("CRAM-MD5");
            }

            @Override
            public AuthenticationHandler create() {
                return new AuthenticationHandler() {
                    @Override
                    public Optional<String> auth(String clientInput, MessageContext context)
                            throws RejectException {
                        throw new RejectException(535, "5.7.8 Authentication failed");
                    }

                    @Override
                    public Object getIdentity() {
                        return null;
                    }
                };
            }
        };
        List<String> senders = new CopyOnWriteArrayList<>();
        TlsServer tls = new TlsServer(pki.good(), TlsVersion.TLS_1_2);
        SMTPServer upstream = SMTPServer.port(0).bindAddress(InetAddress.getLoopbackAddress())
                .hostName("cram-md5-only.test").enableTLS().requireTLS().startTlsSocketFactory(tls::layerOver)
                .requireAuth().authenticationHandlerFactory(cramMd5Only)
                .messageHandlerFactory(ctx -> new MessageHandler() {
                    @Override
                    public void from(String from) {
                        senders.add(from);
                    }

                    @Override
                    public void recipient(String recipient) {}

                    @Override
                    public String data(InputStream data) {
                        return null;
                    }

                    @Override
                    public void done() {}
                }).build();
        upstream.start();
        try (RelayFixture relay = RelayFixture.start(dir, Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(upstream.getPortAllocated()),
                "upstream.security", "starttls",
                "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                "upstream.auth.username", USER,
                "upstream.auth.password-file", passwordFile(PASSWORD).toString()))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "no common mechanism");

            assertEquals(451, refusal.code(), refusal.toString());
            assertTrue(refusal.text().contains("CRAM-MD5"), "the reply names what the server offers: " + refusal);
            assertFalse(refusal.text().contains("refused the relay's credentials"),
                    "no credentials were ever sent, so none were refused: " + refusal);
            assertEquals(List.of(), senders, "no MAIL was accepted");
            relay.awaitAudit("message.failed", 1, Duration.ofSeconds(5));
            assertSecretAbsent(relay, PASSWORD);
        } finally {
            upstream.stop();
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
