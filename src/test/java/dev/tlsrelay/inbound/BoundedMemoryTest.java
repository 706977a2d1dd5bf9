package dev.tlsrelay.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 200 MB message streams through the relay (in pass-through, client socket to upstream socket)
 * without the heap holding it: retained heap measured half-way, after a GC, stays far below its size.
 */
@Timeout(180)
class BoundedMemoryTest {

    private static final int MB = 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void aHugeMessageDoesNotGrowTheHeap() throws Exception {
        TestPki pki = new TestPki();
        byte[] block = RawSmtp.mebibyteOfLines();
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        try (Catcher upstream = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.host", "127.0.0.1",
                        "upstream.port", String.valueOf(upstream.port()),
                        "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                        "listen.max-message-size", "300MiB"));
                RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO scanner.lan");
            c.command("MAIL FROM:<scanner@office.test>");
            c.command("RCPT TO:<admin@office.test>");
            assertTrue(c.command("DATA").startsWith("354"));
            c.sendRaw("Subject: huge\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            System.gc();
            long baseline = memory.getHeapMemoryUsage().getUsed();
            long retainedPeak = 0;
            for (int i = 0; i < 200; i++) {
                c.sendRaw(block);
                if (i % 50 == 49) {
                    System.gc();
                    retainedPeak = Math.max(retainedPeak, memory.getHeapMemoryUsage().getUsed() - baseline);
                }
            }
            c.sendRaw(".\r\n".getBytes(StandardCharsets.US_ASCII));
            String reply = c.reply();
            assertTrue(reply.startsWith("250"), reply);
            System.out.printf("200 MB message: heap retained while streaming at most %d MB%n", retainedPeak / MB);
            assertTrue(retainedPeak < 64L * MB, "retained heap grew by " + retainedPeak / MB + " MB");
            assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(60)));
            assertTrue(Files.size(upstream.received().get(0).eml()) > 199L * MB);
            Files.delete(upstream.received().get(0).eml());
            assertEquals(1, upstream.received().size());
        }
    }
}
