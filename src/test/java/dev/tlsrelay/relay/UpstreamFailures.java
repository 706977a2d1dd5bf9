package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.SmtpRefusal;
import jakarta.mail.MessagingException;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * What every refused upstream attempt must look like from the outside: the legacy client gets a
 * 451 naming the failure, the audit has exactly one failed {@code tls.handshake} with the stable
 * failure code, and the message is recorded as failed with the same code.
 */
final class UpstreamFailures {

    static final String SENDER = "printer@office.test";
    static final String RECIPIENT = "admin@office.test";

    private UpstreamFailures() {}

    /** Sends one sample message through the relay and returns how the relay refused it. */
    static SmtpRefusal sendExpectingRefusal(RelayFixture relay, String subject) {
        MessagingException thrown = assertThrows(MessagingException.class,
                () -> LegacyClient.send(relay.port(), SENDER, LegacyClient.sampleMessage(subject), RECIPIENT),
                "the relay must not accept a message it cannot pass on securely");
        return SmtpRefusal.of(thrown);
    }

    /**
     * Asserts the client reply and the audit of one refused attempt; returns the handshake line.
     *
     * @param status the enhanced status code expected in the reply (4.7.0 for TLS, 4.4.1 for network)
     */
    static JsonNode assertRefused(RelayFixture relay, SmtpRefusal refusal, String failure, String status,
            String mode) throws Exception {
        assertEquals(451, refusal.code(), refusal.toString());
        assertTrue(refusal.text().contains(status), "enhanced status " + status + " expected: " + refusal);
        assertTrue(refusal.text().contains(failure), "the reply must name the failure " + failure + ": " + refusal);

        List<JsonNode> handshakes = relay.audit("tls.handshake");
        assertEquals(1, handshakes.size(), "exactly one handshake attempt audited: " + handshakes);
        JsonNode hs = handshakes.get(0);
        assertEquals("upstream", hs.path("direction").asText());
        assertEquals(mode, hs.path("mode").asText());
        assertEquals("failed", hs.path("outcome").asText(), hs.toString());
        assertEquals(failure, hs.path("failure").asText(), hs.toString());
        assertFalse(hs.path("detail").asText().isBlank(), "a failure carries a human explanation: " + hs);
        assertFalse(hs.has("protocol") || hs.has("cipher"), "no negotiated parameters on a failure: " + hs);

        JsonNode msg = relay.awaitAudit("message.failed", 1, Duration.ofSeconds(5)).get(0);
        assertEquals(hs.path("session").asText(), msg.path("session").asText());
        assertEquals(SENDER, msg.path("mail_from").asText());
        assertEquals(failure, msg.path("failure").asText(), msg.toString());
        assertTrue(msg.path("reason").asText().contains(failure), msg.toString());
        assertEquals(List.of(), relay.audit("message.relayed"));
        return hs;
    }

    /** Asserts that the audit line describes exactly this certificate. */
    static void assertCertificateSeen(JsonNode hs, X509Certificate cert) throws Exception {
        assertEquals(cert.getSubjectX500Principal().getName(), hs.path("cert_subject").asText(), hs.toString());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded())),
                hs.path("cert_sha256").asText(), hs.toString());
    }
}
