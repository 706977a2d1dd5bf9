package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsClient;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.TrustSource;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The upstream socket the relay layers TLS over. */
@Timeout(30)
class UpstreamSocketTest {

    /**
     * Nagle off: with it on, a small TLS record written right after another one (a handshake flight,
     * EHLO after the handshake, the body's last record and the final dot) can wait for the server's
     * delayed ACK, 40 ms on Linux, on every new upstream connection.
     */
    @Test
    void upstreamSocketsSendSmallWritesAtOnce() throws Exception {
        TestPki pki = new TestPki();
        TlsClient client = new TlsClient(TlsPolicy.fullVerification(TrustSource.of(List.of(pki.ca.certificate())),
                Duration.ofSeconds(10)));
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            TlsClient.ConnectionTls tls = client.forConnection("localhost", server.getLocalPort(), TlsMode.IMPLICIT);
            try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                    Socket accepted = server.accept();
                    Socket ssl = tls.createSocket(plain, "localhost", server.getLocalPort(), true)) {
                assertTrue(plain.getTcpNoDelay(), "TCP_NODELAY on the connection to the upstream");
                assertTrue(ssl.getTcpNoDelay());
            }
        }
    }
}
