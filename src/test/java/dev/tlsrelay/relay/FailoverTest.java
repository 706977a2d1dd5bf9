package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** upstream.hosts: smarthosts tried in order, each attempt its own audited negotiation. */
@Timeout(60)
class FailoverTest {

    @TempDir
    Path dir;

    @Test
    void theNextSmarthostTakesOverAndEveryAttemptIsAudited() throws Exception {
        TestPki pki = new TestPki();
        int down = Catchers.unusedPort();
        try (Catcher misnamed = Catchers.start(dir.resolve("misnamed"), TlsMode.STARTTLS, pki.wrongHost());
                Catcher good = Catchers.start(dir.resolve("good"), TlsMode.IMPLICIT, pki.good());
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.hosts", "127.0.0.1:" + down + ", 127.0.0.1:" + misnamed.port() + "/starttls, 127.0.0.1:"
                                + good.port() + "/implicit",
                        "upstream.tls.ca-file", pki.writeCa(dir).toString()))) {
            String reply = LegacyClient.send(relay.port(), "scanner@office.test", LegacyClient.sampleMessage("failover"),
                    "admin@office.test");
            assertTrue(reply.startsWith("250"), reply);
            assertTrue(good.awaitMessages(1, Duration.ofSeconds(10)));
            assertTrue(misnamed.received().isEmpty());

            List<JsonNode> handshakes = relay.audit("tls.handshake");
            assertEquals(3, handshakes.size());
            assertEquals("connect_failed", handshakes.get(0).get("failure").asText());
            assertEquals(down, handshakes.get(0).get("peer_port").asInt());
            assertEquals("hostname_mismatch", handshakes.get(1).get("failure").asText());
            assertEquals("ok", handshakes.get(2).get("outcome").asText());
            assertEquals("implicit", handshakes.get(2).get("mode").asText());
            assertEquals(good.port(), handshakes.get(2).get("peer_port").asInt());
        }
    }
}
