package dev.tlsrelay.relay;

import static dev.tlsrelay.relay.UpstreamFailures.RECIPIENT;
import static dev.tlsrelay.relay.UpstreamFailures.SENDER;
import static dev.tlsrelay.relay.UpstreamFailures.assertCertificateSeen;
import static dev.tlsrelay.relay.UpstreamFailures.assertRefused;
import static dev.tlsrelay.relay.UpstreamFailures.sendExpectingRefusal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPKI pins: alone ({@code verify=pin}, for a self-signed smarthost) and on top of full chain and
 * host name verification.
 */
@Timeout(60)
class PinnedUpstreamTest {

    @TempDir
    Path dir;

    @Test
    void pinModeDeliversToASelfSignedUpstreamWithTheRightPin() throws Exception {
        HeldCertificate selfSigned = TestPki.selfSigned();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, selfSigned);
                RelayFixture relay = RelayFixture.start(dir, pinMode(catcher, selfSigned.pin().base64()))) {
            byte[] raw = LegacyClient.sampleMessage("pinned");

            String reply = LegacyClient.send(relay.port(), SENDER, raw, RECIPIENT);

            assertTrue(reply.startsWith("250"), reply);
            assertTrue(catcher.awaitMessages(1, Duration.ofSeconds(10)));
            assertEndsWith(raw, catcher.received().get(0));
            JsonNode hs = relay.audit("tls.handshake").get(0);
            assertEquals("ok", hs.path("outcome").asText(), hs.toString());
            assertEquals(selfSigned.pin().base64(), hs.path("spki_sha256").asText());
            assertCertificateSeen(hs, selfSigned.certificate());
        }
    }

    @Test
    void pinModeRefusesAnUpstreamWhoseKeyIsNotPinnedAndAuditsThePinItSaw() throws Exception {
        HeldCertificate selfSigned = TestPki.selfSigned();
        String otherPin = TestPki.selfSigned().pin().base64();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, selfSigned);
                RelayFixture relay = RelayFixture.start(dir, pinMode(catcher, otherPin))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "wrong pin");

            JsonNode hs = assertRefused(relay, refusal, "pin_mismatch", "4.7.0", "starttls");
            String detail = hs.path("detail").asText();
            assertTrue(detail.contains(selfSigned.pin().base64()), "the detail lists the pin seen: " + detail);
            assertTrue(detail.contains(otherPin), "and the pins expected: " + detail);
            assertCertificateSeen(hs, selfSigned.certificate());
            assertEquals(List.of(), catcher.received());
        }
    }

    @Test
    void fullVerificationWithPinsRefusesAValidCertificateWhoseKeyIsNotPinned() throws Exception {
        TestPki pki = new TestPki();
        HeldCertificate good = pki.good();
        String otherPin = pki.good().pin().base64(); // same CA, same names, another key
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, good);
                RelayFixture relay = RelayFixture.start(dir, fullWithPin(pki, catcher, otherPin))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "full + wrong pin");

            JsonNode hs = assertRefused(relay, refusal, "pin_mismatch", "4.7.0", "starttls");
            assertTrue(hs.path("detail").asText().contains(good.pin().base64()), hs.toString());
            assertCertificateSeen(hs, good.certificate());
            assertEquals(List.of(), catcher.received());
        }
    }

    @Test
    void fullVerificationWithTheRightPinDelivers() throws Exception {
        TestPki pki = new TestPki();
        HeldCertificate good = pki.good();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, good);
                RelayFixture relay = RelayFixture.start(dir, fullWithPin(pki, catcher, good.pin().base64()))) {
            byte[] raw = LegacyClient.sampleMessage("full + right pin");

            LegacyClient.send(relay.port(), SENDER, raw, RECIPIENT);

            assertTrue(catcher.awaitMessages(1, Duration.ofSeconds(10)));
            assertEndsWith(raw, catcher.received().get(0));
            assertEquals("ok", relay.audit("tls.handshake").get(0).path("outcome").asText());
        }
    }

    private static Map<String, String> pinMode(Catcher catcher, String pin) {
        return Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(catcher.port()),
                "upstream.security", "starttls",
                "upstream.tls.verify", "pin",
                "upstream.tls.pin-sha256", pin);
    }

    private Map<String, String> fullWithPin(TestPki pki, Catcher catcher, String pin) throws Exception {
        Map<String, String> s = new HashMap<>(pinMode(catcher, pin));
        s.put("upstream.tls.verify", "full");
        s.put("upstream.tls.ca-file", pki.writeCa(dir).toString());
        return s;
    }

    static void assertEndsWith(byte[] raw, CaughtMessage m) throws Exception {
        byte[] eml = Files.readAllBytes(m.eml());
        assertTrue(eml.length > raw.length, "a Received: header is prepended");
        assertArrayEquals(raw, Arrays.copyOfRange(eml, eml.length - raw.length, eml.length));
    }
}
