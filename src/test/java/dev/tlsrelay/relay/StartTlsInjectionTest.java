package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * STARTTLS response injection (the CVE-2011-0411 class, upstream side): a server that pipelines a
 * reply right after its "220 Ready to start TLS". The relay must not read that plaintext as a reply
 * inside TLS: were it to, every later reply would be off by one and the transaction would fail.
 */
@Timeout(30)
class StartTlsInjectionTest {

    @TempDir
    Path dir;

    @Test
    void plaintextSentBeforeTheHandshakeIsNeverTakenAsAReply() throws Exception {
        TestPki pki = new TestPki();
        TlsServer tls = new TlsServer(pki.good(), TlsVersion.TLS_1_2);
        List<String> seenInsideTls = new CopyOnWriteArrayList<>();
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getByName("127.0.0.1"))) {
            Thread.ofVirtual().start(() -> serve(server, tls, seenInsideTls));
            try (RelayFixture relay = RelayFixture.start(dir, Map.of(
                    "upstream.host", "127.0.0.1",
                    "upstream.port", String.valueOf(server.getLocalPort()),
                    "upstream.tls.ca-file", pki.writeCa(dir).toString()))) {
                String reply = LegacyClient.send(relay.port(), "scanner@office.test",
                        LegacyClient.sampleMessage("injection"), "admin@office.test");
                assertTrue(reply.contains("queued as REAL"), reply);
                assertEquals("ok", relay.audit("tls.handshake").get(0).get("outcome").asText());
            }
        }
        assertTrue(seenInsideTls.get(0).startsWith("EHLO "), "capabilities are asked for again inside TLS: "
                + seenInsideTls);
        assertTrue(seenInsideTls.contains("MAIL FROM:<scanner@office.test> BODY=8BITMIME"), seenInsideTls.toString());
    }

    /** A scripted SMTP server: injects "250 INJECTED" after its STARTTLS go-ahead. */
    private static void serve(ServerSocket server, TlsServer tls, List<String> seenInsideTls) {
        try (Socket plain = server.accept()) {
            plain.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(plain.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = plain.getOutputStream();
            out.write("220 injector.test ESMTP\r\n".getBytes(StandardCharsets.US_ASCII));
            in.readLine(); // EHLO
            out.write("250-injector.test\r\n250 STARTTLS\r\n".getBytes(StandardCharsets.US_ASCII));
            in.readLine(); // STARTTLS
            out.write("220 Ready to start TLS\r\n250 INJECTED\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            SSLSocket s = tls.layerOver(plain);
            s.startHandshake();
            BufferedReader sin = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream sout = s.getOutputStream();
            String line;
            while ((line = sin.readLine()) != null) {
                seenInsideTls.add(line);
                String upper = line.toUpperCase(java.util.Locale.ROOT);
                String answer;
                if (upper.startsWith("EHLO")) {
                    answer = "250-injector.test\r\n250 8BITMIME\r\n";
                } else if (upper.startsWith("MAIL")) {
                    answer = "250 2.1.0 sender ok\r\n";
                } else if (upper.startsWith("RCPT")) {
                    answer = "250 2.1.5 recipient ok\r\n";
                } else if (upper.equals("DATA")) {
                    sout.write("354 go ahead\r\n".getBytes(StandardCharsets.US_ASCII));
                    sout.flush();
                    while ((line = sin.readLine()) != null && !line.equals(".")) {
                        // the message
                    }
                    answer = "250 2.0.0 Ok: queued as REAL\r\n";
                } else if (upper.equals("QUIT")) {
                    sout.write("221 bye\r\n".getBytes(StandardCharsets.US_ASCII));
                    sout.flush();
                    return;
                } else {
                    answer = "250 ok\r\n";
                }
                sout.write(answer.getBytes(StandardCharsets.US_ASCII));
                sout.flush();
            }
        } catch (Exception e) {
            // The test's assertions report what went wrong.
        }
    }
}
