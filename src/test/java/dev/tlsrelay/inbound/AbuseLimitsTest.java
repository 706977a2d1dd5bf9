package dev.tlsrelay.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every abuse limit, hit once, with its reply; and the relay keeps serving a normal client. */
@Timeout(90)
class AbuseLimitsTest {

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();
    private Catcher upstream;
    private int delivered;

    @BeforeEach
    void start() throws Exception {
        upstream = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
    }

    @AfterEach
    void stop() {
        upstream.close();
    }

    private RelayFixture relay(Map<String, String> limits) throws Exception {
        return RelayFixture.startFor(dir, upstream, pki, limits);
    }

    /** A well-behaved client from 127.0.0.1 still gets its mail through. */
    private void normalClientStillRelays(RelayFixture relay) throws Exception {
        String reply = LegacyClient.send(relay.port(), "scanner@office.test", LegacyClient.sampleMessage("normal"),
                "admin@office.test");
        assertTrue(reply.startsWith("250"), reply);
        delivered++;
        assertTrue(upstream.awaitMessages(delivered, Duration.ofSeconds(10)));
    }

    private static RawSmtp from(int port, String address) throws Exception {
        return RawSmtp.connect(port, InetAddress.getByName(address));
    }

    @Test
    void tooManyErrorsDisconnect() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.max-errors", "3"))) {
            try (RawSmtp c = from(relay.port(), "127.0.0.2")) {
                c.reply();
                assertTrue(c.command("BOGUS 1").startsWith("500"));
                assertTrue(c.command("BOGUS 2").startsWith("500"));
                String third = c.command("BOGUS 3");
                assertTrue(third.startsWith("500"), third);
                String bye = c.reply();
                assertTrue(bye.startsWith("421 4.7.0 Too many errors"), bye);
                assertEquals("", c.reply(), "the connection is closed");
            }
            normalClientStillRelays(relay);
        }
    }

    @Test
    void tooManyCommandsDisconnect() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.max-commands", "5"))) {
            try (RawSmtp c = from(relay.port(), "127.0.0.2")) {
                c.reply();
                for (int i = 0; i < 5; i++) {
                    assertTrue(c.command("NOOP").startsWith("250"));
                }
                // The fifth command was the last one allowed.
                String bye = c.reply();
                assertTrue(bye.startsWith("421 4.7.0 Too many commands"), bye);
                assertEquals("", c.reply(), "the connection is closed");
            }
            normalClientStillRelays(relay);
        }
    }

    @Test
    void connectionsPerAddressAreCapped() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.max-connections-per-ip", "2"))) {
            // One after the other: sessions are admitted in their own threads, in no fixed order.
            try (RawSmtp a = from(relay.port(), "127.0.0.2")) {
                assertTrue(a.reply().startsWith("220"));
                try (RawSmtp b = from(relay.port(), "127.0.0.2")) {
                    assertTrue(b.reply().startsWith("220"));
                    try (RawSmtp c = from(relay.port(), "127.0.0.2")) {
                        String third = c.reply();
                        assertTrue(third.startsWith("421 4.7.0 Too many connections from 127.0.0.2"), third);
                    }
                    normalClientStillRelays(relay);
                }
            }
            // Slots come back when sessions end.
            Thread.sleep(300);
            try (RawSmtp again = from(relay.port(), "127.0.0.2")) {
                assertTrue(again.reply().startsWith("220"));
            }
        }
    }

    @Test
    void connectionRatePerAddressIsCapped() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.rate-per-ip", "3"))) {
            for (int i = 0; i < 3; i++) {
                try (RawSmtp c = from(relay.port(), "127.0.0.3")) {
                    assertTrue(c.reply().startsWith("220"));
                }
            }
            try (RawSmtp c = from(relay.port(), "127.0.0.3")) {
                String fourth = c.reply();
                assertTrue(fourth.startsWith("421 4.7.0 Too many connections from 127.0.0.3 in the last minute"),
                        fourth);
            }
            normalClientStillRelays(relay);
        }
    }

    @Test
    void totalConnectionsAreCapped() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.max-connections", "2"))) {
            // One after the other: SubEthaSMTP counts sessions when each starts.
            try (RawSmtp a = from(relay.port(), "127.0.0.2")) {
                assertTrue(a.reply().startsWith("220"));
                try (RawSmtp b = from(relay.port(), "127.0.0.3")) {
                    assertTrue(b.reply().startsWith("220"));
                    try (RawSmtp c = from(relay.port(), "127.0.0.4")) {
                        assertTrue(c.reply().startsWith("421"), "the third connection is turned away");
                    }
                }
            }
            Thread.sleep(300);
            normalClientStillRelays(relay);
        }
    }

    @Test
    void idleClientsAndEndlessSessionsAreCut() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.timeout", "1s", "listen.max-session-duration", "2s"))) {
            try (RawSmtp idle = from(relay.port(), "127.0.0.2")) {
                idle.reply();
                String timeout = idle.reply(); // say nothing
                assertTrue(timeout.startsWith("421"), timeout);
            }
            try (RawSmtp dripping = from(relay.port(), "127.0.0.3")) {
                dripping.reply();
                long start = System.nanoTime();
                String last = "";
                // A byte every 500 ms: never idle for the read timeout, but the session clock runs out.
                while (System.nanoTime() - start < Duration.ofSeconds(10).toNanos()) {
                    try {
                        dripping.sendRaw("N".getBytes(StandardCharsets.US_ASCII));
                    } catch (java.io.IOException closed) {
                        break;
                    }
                    Thread.sleep(500);
                }
                last = dripping.reply();
                assertTrue(last.contains("421 4.4.2 Session too long"), last);
                assertTrue(System.nanoTime() - start < Duration.ofSeconds(8).toNanos());
            }
            normalClientStillRelays(relay);
        }
    }

    @Test
    void longLinesAreRefused() throws Exception {
        try (RelayFixture relay = relay(Map.of()); RawSmtp c = from(relay.port(), "127.0.0.2")) {
            c.reply();
            c.command("EHLO scanner.lan");
            c.command("MAIL FROM:<scanner@office.test>");
            c.command("RCPT TO:<admin@office.test>");
            c.command("DATA");
            c.sendRaw(("Subject: long\r\n\r\n" + "y".repeat(999) + "\r\n.\r\n").getBytes(StandardCharsets.US_ASCII));
            String reply = c.reply();
            assertTrue(reply.startsWith("500 5.5.2 Line too long"), reply);
            assertTrue(c.command("NOOP").startsWith("250"));
        }
    }

    @Test
    void slowlorisFromOneAddressDoesNotStarveOthers() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.rate-per-ip", "1000"))) {
            List<RawSmtp> slow = new ArrayList<>();
            try {
                int refused = 0;
                for (int i = 0; i < 100; i++) {
                    RawSmtp c = from(relay.port(), "127.0.0.9");
                    slow.add(c);
                    c.sendRaw("E".getBytes(StandardCharsets.US_ASCII)); // and nothing more
                }
                for (RawSmtp c : slow) {
                    if (c.reply().startsWith("421")) {
                        refused++;
                    }
                }
                assertEquals(90, refused, "the per-address cap (10) holds the other 90 off");
                normalClientStillRelays(relay);
            } finally {
                for (RawSmtp c : slow) {
                    c.close();
                }
            }
        }
    }
}
