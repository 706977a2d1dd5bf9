package dev.tlsrelay.inbound;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.auth.PasswordHash;
import dev.tlsrelay.auth.UsersFile;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.DeviceClient;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.Tls11OnlyServer;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Security;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LAN mode's inbound STARTTLS against a real relay: legacy TLS 1.0 devices are served on this side
 * only (the upstream side of the same process still refuses anything below TLS 1.2), every inbound
 * handshake is audited, and plaintext pipelined after STARTTLS never runs inside TLS.
 */
@Timeout(60)
class LanModeTlsTest {

    static final String USER = "scanner";
    static final String PASSWORD = "correct horse battery staple";

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();

    /** Relay settings for inbound TLS with {@code identity} and a users file holding {@link #USER}. */
    private Map<String, String> lan(HeldCertificate identity, String minVersion) throws IOException {
        Path cert = dir.resolve("relay-cert.pem");
        Path key = dir.resolve("relay-key.pem");
        Files.writeString(cert, identity.certificatePem());
        Files.writeString(key, identity.privateKeyPem());
        Path users = dir.resolve("users");
        UsersFile.setPassword(users, USER, PasswordHash.create(PASSWORD.toCharArray(), 1_000));
        Map<String, String> s = new HashMap<>();
        s.put("listen.tls.cert-file", cert.toString());
        s.put("listen.tls.key-file", key.toString());
        s.put("listen.tls.min-version", minVersion);
        s.put("listen.auth.users-file", users.toString());
        return s;
    }

    private Map<String, String> upstream(int port) throws IOException {
        return Map.of("upstream.host", "127.0.0.1", "upstream.port", String.valueOf(port),
                "upstream.tls.ca-file", pki.writeCa(dir).toString());
    }

    private HeldCertificate rsaIdentity() {
        return new CertificateMinter().rsa().names("localhost", "127.0.0.1").signedBy(pki.ca).mint();
    }

    /** Greeting, EHLO and STARTTLS up to the relay's 220; returns the plaintext EHLO reply. */
    private static String upToStartTls(DeviceClient device) throws IOException {
        assertTrue(device.greeting().startsWith("220 "));
        String ehlo = device.command("EHLO printer.lan");
        assertTrue(ehlo.contains("250-STARTTLS"), ehlo);
        assertEquals("220 2.0.0 Ready to start TLS", device.command("STARTTLS"));
        return ehlo;
    }

    /**
     * The key requirement: in one JVM, at the same time, an inbound TLS 1.0 client is served while
     * the relay's upstream connection refuses a TLS 1.1-only server with protocol_version, and the
     * JDK's global TLS settings are untouched.
     */
    @Test
    void tls10DeviceIsServedWhileTheUpstreamStillRefusesTls11() throws Exception {
        String disabledBefore = Security.getProperty("jdk.tls.disabledAlgorithms");
        HeldCertificate identity = rsaIdentity();
        try (Tls11OnlyServer legacyUpstream = Tls11OnlyServer.start(TlsMode.STARTTLS,
                Tls11OnlyServer.Behaviour.ALERTS_PROTOCOL_VERSION, pki.ca)) {
            Map<String, String> s = lan(identity, "TLSv1.0");
            s.putAll(upstream(legacyUpstream.port()));
            try (RelayFixture relay = RelayFixture.start(dir, s); DeviceClient device = DeviceClient.connect(relay.port())) {
                upToStartTls(device);
                // An appliance without ECDHE: TLS 1.0, RSA key exchange, AES-128-CBC-SHA.
                device.handshakeLegacy(ProtocolVersion.TLSv10.only(),
                        new int[] {CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA});
                assertEquals(ProtocolVersion.TLSv10.toString(), device.protocol());
                assertArrayEquals(identity.certificate().getEncoded(), device.serverCertificate());

                String ehlo = device.command("EHLO printer.lan");
                assertTrue(ehlo.contains("250-AUTH PLAIN LOGIN"), "AUTH is offered inside TLS: " + ehlo);
                assertFalse(ehlo.contains("STARTTLS"), "STARTTLS is not offered again inside TLS: " + ehlo);
                expect(device.authPlain(USER, PASSWORD), "235");
                // Pass-through: the upstream is reached at MAIL, and its TLS refusal is the device's answer.
                String verdict = device.command("MAIL FROM:<printer@office.test>");
                assertTrue(verdict.startsWith("451 4.7.0") && verdict.contains("protocol_version"), verdict);
                expect(device.command("QUIT"), "221");

                assertNegotiations(relay.awaitAudit("tls.handshake", 2, Duration.ofSeconds(5)));
            }
            assertEquals(0, legacyUpstream.completedHandshakes(), "the relay never spoke TLS 1.1 upstream");
        }
        assertEquals(disabledBefore, Security.getProperty("jdk.tls.disabledAlgorithms"),
                "the JDK's disabled algorithms were not edited");
        List<String> disabled = List.of(disabledBefore.split(",")).stream().map(String::trim).toList();
        assertTrue(disabled.contains("TLSv1") && disabled.contains("TLSv1.1"),
                "this JDK disables TLS 1.0/1.1 for everybody, which is what makes the test meaningful: " + disabled);
    }

    /** One inbound TLS 1.0 success and one upstream protocol_version failure, in the same session. */
    private static void assertNegotiations(List<JsonNode> handshakes) {
        JsonNode inbound = only(handshakes, "inbound");
        JsonNode upstream = only(handshakes, "upstream");
        assertEquals("ok", inbound.path("outcome").asText(), inbound.toString());
        assertEquals("starttls", inbound.path("mode").asText());
        assertEquals("TLSv1", inbound.path("protocol").asText());
        assertEquals("TLS_RSA_WITH_AES_128_CBC_SHA", inbound.path("cipher").asText());
        assertEquals("127.0.0.1", inbound.path("peer_host").asText());
        assertTrue(inbound.path("peer_port").asInt() > 0);
        assertTrue(inbound.has("handshake_ms"));
        assertEquals("failed", upstream.path("outcome").asText(), upstream.toString());
        assertEquals("protocol_version", upstream.path("failure").asText(), upstream.toString());
        assertEquals(inbound.path("session").asText(), upstream.path("session").asText(),
                "both negotiations belong to the device's session");
    }

    @Test
    void tls11DeviceWithEcdheAndModernClientsShareTheLegacyCapableListener() throws Exception {
        HeldCertificate identity = rsaIdentity();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good())) {
            Map<String, String> s = lan(identity, "TLSv1.1");
            s.putAll(upstream(catcher.port()));
            try (RelayFixture relay = RelayFixture.start(dir, s)) {
                try (DeviceClient old = DeviceClient.connect(relay.port())) {
                    upToStartTls(old);
                    old.handshakeLegacy(ProtocolVersion.TLSv11.only(), new int[] {
                        CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA, CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA});
                    assertEquals(ProtocolVersion.TLSv11.toString(), old.protocol());
                    assertEquals(String.valueOf(CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA), old.cipher(),
                            "the relay's order wins: forward secrecy first");
                    sendOneMessage(old, "old@office.test");
                }
                try (DeviceClient modern = DeviceClient.connect(relay.port())) {
                    upToStartTls(modern);
                    modern.handshakeJdk(pki.ca.certificate());
                    assertEquals("TLSv1.3", modern.protocol());
                    sendOneMessage(modern, "new@office.test");
                }
                // TLS 1.0 is below this listener's floor.
                try (DeviceClient older = DeviceClient.connect(relay.port())) {
                    upToStartTls(older);
                    assertThrows(IOException.class, () -> older.handshakeLegacy(ProtocolVersion.TLSv10.only(),
                            new int[] {CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA}));
                }
                assertTrue(catcher.awaitMessages(2, Duration.ofSeconds(10)));
                List<JsonNode> inbound = awaitInbound(relay, 3);
                assertEquals(List.of("TLSv1.1", "TLSv1.3", "protocol_version"), inbound.stream()
                        .map(n -> n.has("protocol") ? n.path("protocol").asText() : n.path("failure").asText())
                        .toList(), inbound.toString());
                assertEquals("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", inbound.get(0).path("cipher").asText());
                assertTrue(inbound.get(2).path("detail").asText().contains("TLSv1.1"), inbound.get(2).toString());
            }
        }
    }

    @Test
    void tls10DeviceIsRefusedAtTheDefaultFloorAndTheConnectionEnds() throws Exception {
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good())) {
            Map<String, String> s = lan(pki.good(), "TLSv1.2");
            s.putAll(upstream(catcher.port()));
            try (RelayFixture relay = RelayFixture.start(dir, s); DeviceClient device = DeviceClient.connect(relay.port())) {
                upToStartTls(device);
                IOException e = assertThrows(IOException.class, () -> device.handshakeLegacy(
                        ProtocolVersion.TLSv10.only(), new int[] {CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}));
                assertTrue(e instanceof TlsFatalAlertReceived r && r.getAlertDescription() == 70,
                        "the relay answers protocol_version(70): " + e);
                assertTrue(device.closedByServer(), "no plaintext session after a failed handshake");

                JsonNode hs = relay.awaitAudit("tls.handshake", 1, Duration.ofSeconds(5)).get(0);
                assertEquals("inbound", hs.path("direction").asText());
                assertEquals("failed", hs.path("outcome").asText());
                assertEquals("protocol_version", hs.path("failure").asText(), hs.toString());
                assertFalse(hs.has("protocol"), hs.toString());
            }
        }
    }

    @Test
    void plaintextPipelinedAfterStartTlsIsDiscardedNotExecutedInsideTls() throws Exception {
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good())) {
            Map<String, String> s = lan(pki.good(), "TLSv1.2");
            s.putAll(upstream(catcher.port()));
            try (RelayFixture relay = RelayFixture.start(dir, s); DeviceClient device = DeviceClient.connect(relay.port())) {
                device.greeting();
                device.command("EHLO attacker.lan");
                // One write: a man in the middle appends a command for the relay to run inside TLS.
                device.sendRaw("STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n".getBytes(StandardCharsets.US_ASCII));
                assertEquals("220 2.0.0 Ready to start TLS", device.reply());
                device.handshakeJdk(pki.ca.certificate());

                String first = device.command("EHLO printer.lan");
                assertTrue(first.startsWith("250-"), "the first reply inside TLS answers our EHLO: " + first);
                assertTrue(first.endsWith("250 Ok"), first);
                assertTrue(device.command("MAIL FROM:<printer@office.test>").startsWith("250"),
                        "no transaction was started by the injected MAIL");
                expect(device.command("RSET"), "250");
            }
        }
    }

    /** Both handshake engines: Bouncy Castle's low-level one (TLSv1.0 floor) and BCJSSE (TLSv1.2). */
    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.0", "TLSv1.2"})
    void aSilentClientTimesOutInTheHandshakeAndIsAudited(String floor) throws Exception {
        Map<String, String> s = lan(pki.good(), floor);
        s.putAll(upstream(Catchers.unusedPort()));
        s.put("listen.timeout", "1s");
        try (RelayFixture relay = RelayFixture.start(dir, s); DeviceClient device = DeviceClient.connect(relay.port())) {
            upToStartTls(device);
            // Say nothing: the relay must give up on its own.
            JsonNode hs = relay.awaitAudit("tls.handshake", 1, Duration.ofSeconds(10)).get(0);
            assertEquals("timeout", hs.path("failure").asText(), hs.toString());
            assertTrue(hs.path("handshake_ms").asLong() >= 900, hs.toString());
            assertTrue(device.closedByServer());
        }
    }

    static void expect(String reply, String prefix) {
        assertTrue(reply.startsWith(prefix), "expected " + prefix + ", got: " + reply);
    }

    private static void sendOneMessage(DeviceClient device, String from) throws IOException {
        expect(device.command("EHLO printer.lan"), "250");
        expect(device.command("MAIL FROM:<" + from + ">"), "250");
        expect(device.command("RCPT TO:<admin@office.test>"), "250");
        expect(device.command("DATA"), "354");
        String verdict = device.command("Subject: hello\r\n\r\nbody\r\n.");
        assertTrue(verdict.startsWith("250"), verdict);
        device.command("QUIT");
    }

    /** The inbound handshake lines, once there are {@code count} (the failed one is written as the relay closes). */
    private static List<JsonNode> awaitInbound(RelayFixture relay, int count) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (true) {
            List<JsonNode> inbound = relay.audit("tls.handshake").stream()
                    .filter(n -> n.path("direction").asText().equals("inbound")).toList();
            if (inbound.size() >= count || System.nanoTime() > deadline) {
                return inbound;
            }
            Thread.sleep(20);
        }
    }

    private static JsonNode only(List<JsonNode> handshakes, String direction) {
        List<JsonNode> matching = handshakes.stream().filter(n -> direction.equals(n.path("direction").asText()))
                .toList();
        assertEquals(1, matching.size(), "one " + direction + " handshake: " + handshakes);
        return matching.get(0);
    }
}
