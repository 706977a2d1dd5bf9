package dev.tlsrelay.relay;

import static dev.tlsrelay.relay.UpstreamFailures.assertRefused;
import static dev.tlsrelay.relay.UpstreamFailures.sendExpectingRefusal;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.SmtpRefusal;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Upstreams that cannot be talked to at all: nothing listening (connect_failed) and a server that
 * accepts but never says a word (timeout). Both are network trouble, 451 4.4.1, not TLS refusals.
 */
@Timeout(60)
class UpstreamNetworkFailureTest {

    @TempDir
    Path dir;

    @Test
    void refusedConnectionIsAuditedAsConnectFailed() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            deadPort = s.getLocalPort();
        }
        try (RelayFixture relay = RelayFixture.start(dir, Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(deadPort),
                "upstream.security", "starttls",
                "upstream.tls.ca-file", new TestPki().writeCa(dir).toString()))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "nobody home");

            JsonNode hs = assertRefused(relay, refusal, "connect_failed", "4.4.1", "starttls");
            assertFalse(hs.has("cert_sha256"), "no certificate was ever seen: " + hs);
        }
    }

    /** STARTTLS: the greeting never comes. Implicit: the TLS handshake never gets an answer. */
    @ParameterizedTest
    @EnumSource(TlsMode.class)
    void silentUpstreamIsAuditedAsTimeout(TlsMode mode) throws Exception {
        List<Socket> accepted = new CopyOnWriteArrayList<>();
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        accepted.add(silent.accept()); // and never write a byte
                    }
                } catch (IOException closed) {
                    // test over
                }
            });
            try (RelayFixture relay = RelayFixture.start(dir, Map.of(
                    "upstream.host", "127.0.0.1",
                    "upstream.port", String.valueOf(silent.getLocalPort()),
                    "upstream.security", mode.configName(),
                    "upstream.timeout", "1s",
                    "upstream.tls.ca-file", new TestPki().writeCa(dir).toString()))) {
                long start = System.nanoTime();

                SmtpRefusal refusal = sendExpectingRefusal(relay, "silence");

                long tookMs = (System.nanoTime() - start) / 1_000_000;
                assertRefused(relay, refusal, "timeout", "4.4.1", mode.configName());
                assertTrue(tookMs >= 900 && tookMs < 8_000, "bounded by upstream.timeout (1s), took " + tookMs + " ms");
                assertTrue(accepted.size() == 1, "one connection attempt, no retry: " + accepted.size());
            } finally {
                for (Socket s : accepted) {
                    s.close();
                }
            }
        }
    }
}
