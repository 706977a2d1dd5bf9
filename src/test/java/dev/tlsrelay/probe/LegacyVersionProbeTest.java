package dev.tlsrelay.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.ScriptedSmtpServer;
import dev.tlsrelay.support.ScriptedSmtpServer.Script;
import dev.tlsrelay.support.ScriptedSmtpServer.Tls;
import dev.tlsrelay.support.TestPki;
import jakarta.mail.MessagingException;
import java.nio.file.Path;
import java.security.Security;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server that speaks only TLS 1.0 and 1.1 (Bouncy Castle's low-level server): the probe can offer
 * those versions and sees them accepted, while the relay, in the same JVM and after the probe, still
 * refuses that server. Probing old versions loosens nothing for the relay.
 */
@Timeout(60)
class LegacyVersionProbeTest {

    @TempDir
    Path dir;

    @Test
    void probeSeesTls10And11AcceptedAndTheRelayStillRefusesTheServer() throws Exception {
        TestPki pki = new TestPki();
        String ca = pki.writeCa(dir).toString();
        String disabledBefore = Security.getProperty("jdk.tls.disabledAlgorithms");
        try (ScriptedSmtpServer legacy = ScriptedSmtpServer.start(Script.startTls(new Tls.LegacyOnly(pki.good())))) {
            String target = "127.0.0.1:" + legacy.port();

            Cli text = Cli.run("probe", target, "--ca-file", ca);

            assertEquals(1, text.exit(), text.toString());
            assertTrue(text.out().contains("  FAIL  the server accepts only TLS 1.0, TLS 1.1; the relay needs TLS 1.2"
                    + " or newer: enable TLS 1.2 and 1.3 on the server\n"), text.out());
            assertTrue(text.out().contains("  WARN  server accepts TLS 1.0: disable it on the server"), text.out());
            assertTrue(text.out().contains("  WARN  server accepts TLS 1.1: disable it on the server"), text.out());
            assertTrue(text.out().contains("  TLS 1.1  accepted, TLS_ECDHE_ECDSA_WITH_AES_"), text.out());
            JsonNode json = Cli.json("probe", target, "--ca-file", ca);
            assertEquals(List.of(true, true, false, false), ProbeTest.accepted(json));
            assertEquals("protocol_version", json.path("tls").path("failure").asText());
            assertEquals("handshake", json.path("failed_at").asText());
            // The certificate was still read and verified through the TLS 1.1 handshake.
            assertEquals("passed", json.path("verification").path("chain").path("status").asText());
            assertEquals(pki.ca.certificate().getSubjectX500Principal().getName(),
                    json.path("certificates").get(0).path("issuer").asText());

            // Same JVM, right after: the relay's own upstream policy is untouched.
            try (RelayFixture relay = RelayFixture.start(dir, Map.of(
                    "upstream.host", "127.0.0.1",
                    "upstream.port", String.valueOf(legacy.port()),
                    "upstream.security", "starttls",
                    "upstream.tls.ca-file", ca))) {
                MessagingException refused = assertThrows(MessagingException.class, () -> LegacyClient.send(
                        relay.port(), "printer@office.test", LegacyClient.sampleMessage("legacy"), "admin@office.test"));
                assertTrue(String.valueOf(refused.getMessage()).contains("451"), refused.toString());
                JsonNode hs = relay.audit("tls.handshake").get(0);
                assertEquals("failed", hs.path("outcome").asText(), hs.toString());
                assertEquals("protocol_version", hs.path("failure").asText(), hs.toString());
            }
            // Nothing in the process-wide TLS configuration was changed to make the probe work.
            assertEquals(disabledBefore, Security.getProperty("jdk.tls.disabledAlgorithms"));
        }
    }
}
