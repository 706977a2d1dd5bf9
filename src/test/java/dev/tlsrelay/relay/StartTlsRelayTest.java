package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.catcher.CaughtMessage;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class StartTlsRelayTest {

    @TempDir
    Path dir;

    @Test
    void relaysMessageByteForByteOverVerifiedStartTlsAndAuditsTheHandshake() throws Exception {
        TestPki pki = new TestPki();
        HeldCertificate serverCert = pki.good();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, serverCert);
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.host", "127.0.0.1",
                        "upstream.port", String.valueOf(catcher.port()),
                        "upstream.security", "starttls",
                        "upstream.tls.ca-file", pki.writeCa(dir).toString()))) {
            byte[] raw = LegacyClient.sampleMessage("scan 1");

            String reply = LegacyClient.send(relay.port(), "printer@office.test", raw, "admin@office.test");

            assertTrue(catcher.awaitMessages(1, Duration.ofSeconds(10)));
            CaughtMessage m = catcher.received().get(0);
            assertTrue(reply.startsWith("250") && reply.contains("caught as 0001"), reply);
            byte[] eml = Files.readAllBytes(m.eml());
            String text = new String(eml, StandardCharsets.UTF_8);
            assertTrue(text.startsWith("Received: from printer.lan ([127.0.0.1])\r\n\tby tlsrelay (tlsrelay)"),
                    text);
            byte[] tail = Arrays.copyOfRange(eml, eml.length - raw.length, eml.length);
            assertArrayEquals(raw, tail, "the message bytes must arrive unchanged after the trace header");
            assertEquals("printer@office.test", m.mailFrom());
            assertEquals(List.of("admin@office.test"), m.recipients());

            JsonNode hs = relay.audit("tls.handshake").get(0);
            assertEquals("upstream", hs.get("direction").asText());
            assertEquals("starttls", hs.get("mode").asText());
            assertEquals("ok", hs.get("outcome").asText());
            assertEquals(m.tlsProtocol(), hs.get("protocol").asText());
            assertEquals(m.tlsCipher(), hs.get("cipher").asText());
            assertEquals(HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(serverCert.certificate().getEncoded())), hs.get("cert_sha256").asText());
            assertEquals(serverCert.pin().base64(), hs.get("spki_sha256").asText());
            assertEquals("CN=localhost", hs.get("cert_subject").asText());
            assertTrue(hs.get("cert_san").toString().contains("IP:127.0.0.1"));
            assertTrue(hs.has("cert_not_after") && hs.has("cert_serial") && hs.has("cert_issuer"));
            assertTrue(hs.get("handshake_ms").asLong() >= 0);

            JsonNode msg = relay.audit("message.relayed").get(0);
            assertEquals(hs.get("session").asText(), msg.get("session").asText());
            assertEquals("127.0.0.1", msg.get("client").asText());
            assertEquals("printer@office.test", msg.get("mail_from").asText());
            assertEquals(1, msg.get("rcpt_count").asInt());
            assertEquals(raw.length, msg.get("size").asLong());
            assertTrue(msg.get("upstream_reply").asText().contains("caught as 0001"));
        }
    }
}
