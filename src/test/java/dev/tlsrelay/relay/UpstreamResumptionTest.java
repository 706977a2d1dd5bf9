package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsClient;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsNegotiation;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.TrustSource;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A new upstream connection resumes the TLS session of an earlier one to the same server, with TLS
 * 1.2 (session id or ticket) and with TLS 1.3 (a PSK from the server's NewSessionTicket), and the
 * audit says so. A resumed handshake does not show the certificate to the trust manager, so the
 * relay verifies the session's certificate again under the policy of today: a session whose
 * certificate no longer passes is refused, resumed or not.
 */
@Timeout(60)
class UpstreamResumptionTest {

    private static final TestPki PKI = new TestPki();

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void aSecondConnectionResumesAndStillNamesTheVerifiedCertificate(String protocol) throws Exception {
        try (JdkServer server = new JdkServer(PKI.good(), protocol)) {
            TlsClient client = client();
            TlsNegotiation first = connect(client, server);
            TlsNegotiation second = connect(client, server);

            assertTrue(first.ok() && second.ok(), first + " / " + second);
            assertEquals(protocol, first.protocol().orElseThrow());
            assertEquals(protocol, second.protocol().orElseThrow());
            assertFalse(first.resumed(), "the first is a full handshake: " + first);
            assertTrue(second.resumed(), "the second resumes: " + second);
            assertEquals(first.leaf().orElseThrow().sha256(), second.leaf().orElseThrow().sha256(),
                    "a resumed session still names the certificate it verified");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void aResumedSessionWhoseCertificateNoLongerPassesIsRefused(String protocol) throws Exception {
        Instant until = Instant.now().plusSeconds(6); // room for a slow first handshake on a busy machine
        HeldCertificate shortLived = new CertificateMinter().names("localhost", "127.0.0.1")
                .validity(Instant.now().minus(Duration.ofMinutes(1)), until).signedBy(PKI.ca).mint();
        try (JdkServer server = new JdkServer(shortLived, protocol)) {
            TlsClient client = client();
            TlsNegotiation first = connect(client, server);
            assertTrue(first.ok(), first.toString());

            // The session stays resumable for an hour; its certificate does not stay valid that long.
            Thread.sleep(Math.max(0, Duration.between(Instant.now(), until).toMillis()) + 1100);
            TlsNegotiation second = connect(client, server);

            assertFalse(second.ok(), "resumed, and refused under today's checks: " + second);
            assertEquals(FailureCode.CERT_EXPIRED, second.failure().orElseThrow(), second.toString());
        }
    }

    private static TlsClient client() throws Exception {
        return new TlsClient(TlsPolicy.fullVerification(TrustSource.of(List.of(PKI.ca.certificate())),
                Duration.ofSeconds(10)));
    }

    /**
     * One connection the way the SMTP client makes it: handshake, verify, then read the server's
     * first line (which also takes in a TLS 1.3 server's session tickets). The handshake itself
     * must complete: a full handshake with a certificate that fails is refused by the trust manager
     * during the handshake, so a refusal after it is the re-verification of a resumed session.
     */
    private static TlsNegotiation connect(TlsClient client, JdkServer server) throws Exception {
        TlsClient.ConnectionTls tls = client.forConnection("localhost", server.port(), TlsMode.IMPLICIT);
        try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), server.port());
                SSLSocket ssl = (SSLSocket) tls.createSocket(plain, "localhost", server.port(), true)) {
            ssl.startHandshake();
            assertEquals(server.protocol(), ssl.getSession().getProtocol());
            if (tls.verify("localhost", ssl.getSession())) {
                BufferedReader in = new BufferedReader(new InputStreamReader(ssl.getInputStream(),
                        StandardCharsets.US_ASCII));
                assertEquals("220 ready", in.readLine());
            }
        }
        return tls.negotiation().orElseThrow();
    }

    /** The JDK's TLS server (which issues TLS 1.3 session tickets), restricted to one version. */
    private static final class JdkServer implements AutoCloseable {
        private final SSLServerSocket listener;
        private final String protocol;

        JdkServer(HeldCertificate identity, String protocol) throws Exception {
            this.protocol = protocol;
            PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(
                    new PKCS8EncodedKeySpec(identity.keyPair().getPrivate().getEncoded()));
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("server", key, new char[0], identity.chain());
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
            kmf.init(ks, new char[0]);
            SSLContext ctx = SSLContext.getInstance("TLS", "SunJSSE");
            ctx.init(kmf.getKeyManagers(), null, null);
            listener = (SSLServerSocket) ctx.getServerSocketFactory()
                    .createServerSocket(0, 5, InetAddress.getLoopbackAddress());
            SSLParameters p = listener.getSSLParameters();
            p.setProtocols(new String[] {protocol});
            listener.setSSLParameters(p);
            Thread.ofVirtual().name("jdk-tls-server").start(this::serve);
        }

        int port() {
            return listener.getLocalPort();
        }

        String protocol() {
            return protocol;
        }

        private void serve() {
            while (!listener.isClosed()) {
                try (SSLSocket s = (SSLSocket) listener.accept()) {
                    s.setSoTimeout(10_000);
                    OutputStream out = s.getOutputStream();
                    out.write("220 ready\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    s.getInputStream().read();
                } catch (Exception e) {
                    // A refused client, or the listener closing: serve the next one.
                }
            }
        }

        @Override
        public void close() throws Exception {
            listener.close();
        }
    }
}
