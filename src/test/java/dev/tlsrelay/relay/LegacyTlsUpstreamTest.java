package dev.tlsrelay.relay;

import static dev.tlsrelay.relay.UpstreamFailures.assertRefused;
import static dev.tlsrelay.relay.UpstreamFailures.sendExpectingRefusal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.SmtpRefusal;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.Tls11OnlyServer;
import dev.tlsrelay.support.Tls11OnlyServer.Behaviour;
import dev.tlsrelay.tls.TlsMode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An upstream that speaks only TLS 1.1, over STARTTLS and implicit TLS: the relay never goes below
 * TLS 1.2, never falls back to plaintext, and says why it gave up.
 */
@Timeout(60)
class LegacyTlsUpstreamTest {

    @TempDir
    Path dir;

    static Stream<Arguments> legacyServers() {
        return Stream.of(TlsMode.values()).flatMap(mode -> Stream.of(Behaviour.values())
                .map(behaviour -> Arguments.of(mode, behaviour)));
    }

    @ParameterizedTest(name = "{0}, server {1}")
    @MethodSource("legacyServers")
    void tls11OnlyUpstreamIsRefusedAsProtocolVersion(TlsMode mode, Behaviour behaviour) throws Exception {
        TestPki pki = new TestPki();
        try (Tls11OnlyServer upstream = Tls11OnlyServer.start(mode, behaviour, pki.ca);
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.host", "127.0.0.1",
                        "upstream.port", String.valueOf(upstream.port()),
                        "upstream.security", mode.configName(),
                        "upstream.tls.ca-file", pki.writeCa(dir).toString()))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "legacy upstream");

            JsonNode hs = assertRefused(relay, refusal, "protocol_version", "4.7.0", mode.configName());
            assertFalse(hs.has("cert_sha256"), "no certificate is exchanged before versions agree: " + hs);
            assertEquals(1, upstream.connections(), "the relay did reach the server, once");
            assertEquals(0, upstream.completedHandshakes(),
                    "and never completed a handshake with it; server side: " + upstream.failures());
            if (mode == TlsMode.STARTTLS) {
                List<String> said = upstream.plaintextCommands();
                assertEquals(2, said.size(), "EHLO, STARTTLS and nothing else in plaintext: " + said);
                assertTrue(said.get(0).startsWith("EHLO "), said.toString());
                assertEquals("STARTTLS", said.get(1));
            }

            if (behaviour == Behaviour.ANSWERS_TLS11_SERVER_HELLO) {
                // The relay itself refused the version, and told the server why.
                assertTrue(waitFor(() -> !upstream.alertsReceived().isEmpty()), "the relay sent an alert");
                assertEquals(List.of((int) AlertDescription.protocol_version), upstream.alertsReceived());
            } else {
                // Control: the server is a working TLS 1.1 server with a certificate valid for this
                // host, so the relay refused because of the version and nothing else.
                assertEquals(ProtocolVersion.TLSv11, handshakeAsLegacyClient(upstream, mode));
                assertTrue(waitFor(() -> upstream.completedHandshakes() == 1), "control handshake completed");
            }
        }
    }

    /**
     * Handshakes with a client that offers TLS 1.1 only and returns the version agreed. A test-only
     * control, built on the low-level API because no JSSE client in this JVM offers TLS 1.1; it
     * accepts whatever certificate it is shown and never carries mail.
     */
    private static ProtocolVersion handshakeAsLegacyClient(Tls11OnlyServer upstream, TlsMode mode) throws IOException {
        var crypto = new JcaTlsCryptoProvider().setProvider(new BouncyCastleProvider()).create(new SecureRandom());
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), upstream.port())) {
            s.setSoTimeout(10_000);
            if (mode == TlsMode.STARTTLS) {
                startTls(s);
            }
            TlsClientProtocol protocol = new TlsClientProtocol(s.getInputStream(), s.getOutputStream());
            ProtocolVersion[] agreed = new ProtocolVersion[1];
            DefaultTlsClient client = new DefaultTlsClient(crypto) {
                @Override
                protected ProtocolVersion[] getSupportedVersions() {
                    return ProtocolVersion.TLSv11.only();
                }

                @Override
                protected int[] getSupportedCipherSuites() {
                    return new int[] {CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA};
                }

                @Override
                public void notifyHandshakeComplete() throws IOException {
                    super.notifyHandshakeComplete();
                    agreed[0] = context.getServerVersion();
                }

                @Override
                public TlsAuthentication getAuthentication() {
                    return new ServerOnlyTlsAuthentication() {
                        @Override
                        public void notifyServerCertificate(TlsServerCertificate serverCertificate) {
                            // Control client only: see the method comment.
                        }
                    };
                }
            };
            protocol.connect(client);
            protocol.close();
            return agreed[0];
        }
    }

    /** The plaintext SMTP steps up to the server's 220 to STARTTLS. */
    private static void startTls(Socket s) throws IOException {
        var in = new java.io.DataInputStream(s.getInputStream());
        var out = s.getOutputStream();
        expect(in, "220 ");
        out.write("EHLO control.test\r\n".getBytes(StandardCharsets.US_ASCII));
        expect(in, "250-");
        expect(in, "250 STARTTLS");
        out.write("STARTTLS\r\n".getBytes(StandardCharsets.US_ASCII));
        expect(in, "220 ");
    }

    private static void expect(java.io.InputStream in, String prefix) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            line.append((char) c);
        }
        assertTrue(line.toString().startsWith(prefix), "expected " + prefix + ", got " + line);
    }

    private static boolean waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
