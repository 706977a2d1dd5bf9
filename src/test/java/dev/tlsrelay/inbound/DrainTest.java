package dev.tlsrelay.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Shutdown lets the message in flight finish, and turns new clients away meanwhile. */
@Timeout(60)
class DrainTest {

    @TempDir
    Path dir;

    @Test
    void inFlightMessageCompletesDuringShutdownAndNewClientsAreTurnedAway() throws Exception {
        TestPki pki = new TestPki();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.host", "127.0.0.1",
                        "upstream.port", String.valueOf(catcher.port()),
                        "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                        "listen.drain-timeout", "20s"));
                RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO scanner.lan");
            assertTrue(c.command("MAIL FROM:<scanner@office.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<a@office.test>").startsWith("250"));
            assertTrue(c.command("DATA").startsWith("354"));
            c.sendRaw("Subject: in flight\r\n\r\nfirst half\r\n".getBytes(StandardCharsets.US_ASCII));

            CompletableFuture<Void> stopping = CompletableFuture.runAsync(relay.relay::drainAndStop);
            Thread.sleep(300);
            assertTrue(!stopping.isDone(), "shutdown must wait for the message in flight");
            try (RawSmtp late = RawSmtp.connect(relay.port())) {
                String greeting = late.reply();
                assertTrue(greeting.startsWith("421"), greeting);
            }

            c.sendRaw("second half\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
            String reply = c.reply();
            assertTrue(reply.startsWith("250"), reply);
            c.send("QUIT");
            stopping.get(20, TimeUnit.SECONDS);
            assertTrue(catcher.awaitMessages(1, Duration.ofSeconds(5)));
            assertEquals("in flight", new String(java.nio.file.Files.readAllBytes(catcher.received().get(0).eml()),
                    StandardCharsets.US_ASCII).lines().filter(l -> l.startsWith("Subject: ")).findFirst()
                    .orElseThrow().substring(9));
        }
    }
}
