package dev.tlsrelay.relay;

import static dev.tlsrelay.relay.UpstreamFailures.RECIPIENT;
import static dev.tlsrelay.relay.UpstreamFailures.SENDER;
import static dev.tlsrelay.relay.UpstreamFailures.assertRefused;
import static dev.tlsrelay.relay.UpstreamFailures.sendExpectingRefusal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.util.DummySSLServerSocketFactory;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RecordingProxy;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.SmtpRefusal;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.HeldCertificate;
import jakarta.mail.Message;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * GreenMail as a third-party upstream: plain SMTP (it never offers STARTTLS) and SMTPS (implicit
 * TLS).
 *
 * <p>GreenMail reads its TLS certificate from the system properties {@code greenmail.tls.keystore.*}
 * once per JVM, when the first secure server starts (an enum singleton), and surefire runs every
 * test class in one JVM. So every GreenMail SMTPS test lives in this class, the PKI is static (one
 * CA and certificate for the whole class), and {@link #greenMailServesOurCertificate()} sets the
 * properties before any secure GreenMail starts and fails loudly if some other code got there first.
 */
@Timeout(60)
class GreenMailUpstreamTest {

    private static final TestPki PKI = new TestPki();
    private static final HeldCertificate GREENMAIL_CERT = PKI.good();
    private static final String KEYSTORE_PASSWORD = "greenmail-test";
    private static final String[] PROPERTIES = {
        DummySSLServerSocketFactory.GREENMAIL_KEYSTORE_FILE_PROPERTY,
        DummySSLServerSocketFactory.GREENMAIL_KEYSTORE_PASSWORD_PROPERTY,
        DummySSLServerSocketFactory.GREENMAIL_KEY_PASSWORD_PROPERTY};

    @TempDir
    static Path keystoreDir;

    @TempDir
    Path dir;

    @BeforeAll
    static void greenMailServesOurCertificate() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("greenmail", GREENMAIL_CERT.keyPair().getPrivate(), KEYSTORE_PASSWORD.toCharArray(),
                GREENMAIL_CERT.chain());
        Path file = keystoreDir.resolve("greenmail.p12");
        try (OutputStream out = Files.newOutputStream(file)) {
            ks.store(out, KEYSTORE_PASSWORD.toCharArray());
        }
        System.setProperty(PROPERTIES[0], file.toString());
        System.setProperty(PROPERTIES[1], KEYSTORE_PASSWORD);
        System.setProperty(PROPERTIES[2], KEYSTORE_PASSWORD);
        // Initialise the singleton now and check it took our keystore: if another test class started
        // a secure GreenMail first, the certificate is fixed for this JVM and the TLS tests below
        // would fail for a reason that has nothing to do with the relay.
        KeyStore served = ((DummySSLServerSocketFactory) DummySSLServerSocketFactory.getDefault()).getKeyStore();
        assertEquals(GREENMAIL_CERT.certificate(), served.getCertificate("greenmail"),
                "GreenMail's TLS certificate was fixed earlier in this JVM; keep all GreenMail SMTPS tests"
                        + " in " + GreenMailUpstreamTest.class.getSimpleName());
    }

    @AfterAll
    static void clearProperties() {
        // The singleton keeps the certificate; the properties are cleared only so nothing else in
        // this JVM mistakes them for its own configuration.
        for (String p : PROPERTIES) {
            System.clearProperty(p);
        }
    }

    @Test
    void upstreamWithoutStartTlsIsRefusedWithoutAPlaintextTransaction() throws Exception {
        GreenMail greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        greenMail.start();
        try (RecordingProxy tap = RecordingProxy.start(greenMail.getSmtp().getPort());
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.host", "127.0.0.1",
                        "upstream.port", String.valueOf(tap.port()),
                        "upstream.security", "starttls",
                        "upstream.tls.ca-file", PKI.writeCa(dir).toString()))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "no starttls");

            JsonNode hs = assertRefused(relay, refusal, "starttls_not_offered", "4.7.0", "starttls");
            assertFalse(hs.has("cert_sha256"), "no TLS, no certificate: " + hs);
            assertEquals(0, greenMail.getReceivedMessages().length);
            String wire = tap.clientBytes();
            assertTrue(wire.startsWith("EHLO "), "the tap saw the relay's plaintext: " + wire);
            for (String command : new String[] {"MAIL", "RCPT", "DATA", "AUTH"}) {
                assertFalse(wire.contains("\n" + command) || wire.startsWith(command),
                        command + " must never be sent in plaintext; the relay sent: " + wire);
            }
        } finally {
            greenMail.stop();
        }
    }

    @Test
    void implicitTlsToGreenMailSmtpsDeliversTheBytesUnchanged() throws Exception {
        GreenMail greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTPS));
        greenMail.start();
        try (RelayFixture relay = RelayFixture.start(dir, Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(greenMail.getSmtps().getPort()),
                "upstream.security", "implicit",
                "upstream.tls.ca-file", PKI.writeCa(dir).toString()))) {
            byte[] raw = LegacyClient.sampleMessage("via smtps");

            String reply = LegacyClient.send(relay.port(), SENDER, raw, RECIPIENT);

            assertTrue(reply.startsWith("250"), reply);
            assertTrue(greenMail.waitForIncomingEmail(10_000, 1));
            MimeMessage[] received = greenMail.getReceivedMessages();
            assertEquals(1, received.length);
            assertEquals(RECIPIENT, ((InternetAddress) received[0].getRecipients(Message.RecipientType.TO)[0])
                    .getAddress());
            ByteArrayOutputStream stored = new ByteArrayOutputStream();
            received[0].writeTo(stored);
            byte[] bytes = stored.toByteArray();
            // GreenMail prepends Return-Path and Received, the relay one Received: the rest is ours.
            // GreenMail also drops the CRLF that ends the last line (it cuts CRLF.CR off the stream
            // instead of .CRLF, SmtpConnection.dotLimitedInputStream in 2.1.7), so the comparison
            // stops short of it; the catcher tests check that final CRLF byte for byte.
            byte[] expected = Arrays.copyOf(raw, raw.length - 2);
            assertEquals("\r\n", new String(raw, raw.length - 2, 2, StandardCharsets.US_ASCII));
            assertTrue(bytes.length > expected.length, "trace headers are prepended");
            assertArrayEquals(expected, Arrays.copyOfRange(bytes, bytes.length - expected.length, bytes.length),
                    "the message bytes must arrive unchanged:\n" + stored);
            assertTrue(stored.toString(StandardCharsets.UTF_8).contains("by tlsrelay (tlsrelay)"),
                    "the relay's Received header is there: " + stored);

            JsonNode hs = relay.audit("tls.handshake").get(0);
            assertEquals("implicit", hs.path("mode").asText());
            assertEquals("ok", hs.path("outcome").asText(), hs.toString());
            assertTrue(hs.path("protocol").asText().matches("TLSv1\\.[23]"), hs.toString());
            assertFalse(hs.path("cipher").asText().isBlank(), hs.toString());
            UpstreamFailures.assertCertificateSeen(hs, GREENMAIL_CERT.certificate());
            assertEquals(hs.path("session").asText(),
                    relay.awaitAudit("message.relayed", 1, Duration.ofSeconds(5)).get(0)
                            .path("session").asText());
        } finally {
            greenMail.stop();
        }
    }

    /**
     * GreenMail's SMTPS runs on the JDK's TLS server, which sends TLS 1.3 session tickets: a new
     * upstream connection resumes with TLS 1.3, the audit says so, and still names the certificate
     * (verified again by the relay, since a resumed handshake shows the trust manager nothing).
     */
    @Test
    void newConnectionsResumeTls13WithTheServersTickets() throws Exception {
        GreenMail greenMail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTPS));
        greenMail.start();
        try (RelayFixture relay = RelayFixture.start(dir, Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(greenMail.getSmtps().getPort()),
                "upstream.security", "implicit",
                "upstream.tls.ca-file", PKI.writeCa(dir).toString(),
                "upstream.pool.max-messages-per-connection", "1"))) {
            for (int i = 0; i < 3; i++) {
                String reply = LegacyClient.send(relay.port(), SENDER, LegacyClient.sampleMessage("m" + i), RECIPIENT);
                assertTrue(reply.startsWith("250"), reply);
            }
            relay.awaitAudit("message.relayed", 3, Duration.ofSeconds(10));
            java.util.List<JsonNode> handshakes = relay.audit("tls.handshake");
            assertTrue(handshakes.size() >= 3, "a connection per message: " + handshakes);
            for (JsonNode hs : handshakes) {
                assertEquals("ok", hs.path("outcome").asText(), hs.toString());
                assertEquals("TLSv1.3", hs.path("protocol").asText(), hs.toString());
                UpstreamFailures.assertCertificateSeen(hs, GREENMAIL_CERT.certificate());
            }
            assertFalse(handshakes.get(0).path("resumed").asBoolean(), "the first is a full handshake");
            assertTrue(handshakes.get(2).path("resumed").asBoolean(), "later ones resume: " + handshakes);
            assertTrue(greenMail.waitForIncomingEmail(10_000, 3));
        } finally {
            greenMail.stop();
        }
    }
}
