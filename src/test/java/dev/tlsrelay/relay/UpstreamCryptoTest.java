package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsClient;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsNegotiation;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.TrustSource;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The relay's upstream TLS client runs its crypto on the JDK's JCA providers. Against a server of a
 * different implementation (the JDK's own TLS, restricted to one version, suite, key-exchange group
 * and signature scheme at a time), every combination the relay offers still negotiates, verifies
 * the certificate chain and host name, and carries data both ways intact.
 */
class UpstreamCryptoTest {

    private static final TestPki PKI = new TestPki();
    private static final HeldCertificate EC = PKI.good();
    private static final HeldCertificate RSA = new CertificateMinter().names("localhost", "127.0.0.1").rsa()
            .signedBy(PKI.ca).mint();

    @ParameterizedTest(name = "{0} {1} {2} {3} {4}")
    @CsvSource({
        "TLSv1.3, TLS_AES_128_GCM_SHA256, x25519, ec, ecdsa_secp256r1_sha256",
        "TLSv1.3, TLS_AES_256_GCM_SHA384, secp256r1, rsa, rsa_pss_rsae_sha256",
        "TLSv1.3, TLS_CHACHA20_POLY1305_SHA256, x25519, ec, ecdsa_secp256r1_sha256",
        "TLSv1.2, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, secp256r1, rsa, rsa_pss_rsae_sha256",
        "TLSv1.2, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, x25519, rsa, rsa_pkcs1_sha256",
        "TLSv1.2, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, x25519, rsa, rsa_pss_rsae_sha256",
        // (The JDK's TLS 1.2 server uses an ECDSA certificate only when its curve is an enabled group.)
        "TLSv1.2, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, secp256r1, ec, ecdsa_secp256r1_sha256",
        "TLSv1.2, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, secp256r1, ec, ecdsa_secp256r1_sha256",
    })
    void everyOfferedCombinationNegotiatesVerifiesAndCarriesData(String protocol, String suite, String group,
            String key, String scheme) throws Exception {
        HeldCertificate identity = key.equals("rsa") ? RSA : EC;
        try (SSLServerSocket server = jdkServer(identity, protocol, suite, group, scheme)) {
            byte[] payload = new byte[200_000];
            new Random(42).nextBytes(payload);
            CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> echoOnce(server, payload.length));

            TlsClient client = new TlsClient(TlsPolicy.fullVerification(
                    TrustSource.of(List.of(PKI.ca.certificate())), Duration.ofSeconds(10)));
            TlsClient.ConnectionTls tls = client.forConnection("localhost", server.getLocalPort(), TlsMode.IMPLICIT);
            try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                    SSLSocket ssl = (SSLSocket) tls.createSocket(plain, "localhost", server.getLocalPort(), true)) {
                ssl.startHandshake();
                assertTrue(tls.verify("localhost", ssl.getSession()));
                OutputStream out = ssl.getOutputStream();
                out.write(payload);
                out.flush();
                byte[] back = new byte[payload.length];
                new DataInputStream(ssl.getInputStream()).readFully(back);
                assertArrayEquals(payload, back);
            }
            echo.get(10, TimeUnit.SECONDS);

            TlsNegotiation n = tls.negotiation().orElseThrow();
            assertTrue(n.ok(), n.toString());
            assertEquals(protocol, n.protocol().orElseThrow());
            assertEquals(suite, n.cipher().orElseThrow());
            assertTrue(n.leaf().isPresent(), "the chain was verified by the relay's trust manager");
        }
    }

    private static SSLServerSocket jdkServer(HeldCertificate identity, String protocol, String suite, String group,
            String scheme) throws Exception {
        // The JDK's providers, with the key re-encoded for them (the minter makes Bouncy Castle keys).
        PrivateKey key = KeyFactory.getInstance(identity.keyPair().getPrivate().getAlgorithm().startsWith("EC")
                ? "EC" : "RSA").generatePrivate(new PKCS8EncodedKeySpec(identity.keyPair().getPrivate().getEncoded()));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("server", key, new char[0], identity.chain());
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS", "SunJSSE");
        ctx.init(kmf.getKeyManagers(), null, null);
        SSLServerSocket server = (SSLServerSocket) ctx.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress());
        SSLParameters p = server.getSSLParameters();
        p.setProtocols(new String[] {protocol});
        p.setCipherSuites(new String[] {suite});
        p.setNamedGroups(new String[] {group});
        p.setSignatureSchemes(new String[] {scheme});
        server.setSSLParameters(p);
        return server;
    }

    private static void echoOnce(SSLServerSocket server, int length) {
        try (Socket s = server.accept()) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[16384];
            int left = length;
            while (left > 0) {
                int n = in.read(buf, 0, Math.min(buf.length, left));
                if (n < 0) {
                    throw new IllegalStateException("client closed early");
                }
                out.write(buf, 0, n);
                left -= n;
            }
            out.flush();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
