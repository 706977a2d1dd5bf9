package dev.tlsrelay.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The legacy side: access control, extensions, pipelining and limits, against a real relay and upstream. */
@Timeout(60)
class InboundTest {

    @TempDir
    Path dir;

    private Catcher catcher;
    private final TestPki pki = new TestPki();

    @BeforeEach
    void startUpstream() throws Exception {
        catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
    }

    @AfterEach
    void stopUpstream() {
        catcher.close();
    }

    private RelayFixture relay(Map<String, String> extra) throws Exception {
        return RelayFixture.startFor(dir, catcher, pki, extra);
    }

    @Test
    void clientOutsideTheAllowListIsRefusedBeforeTheGreeting() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.allowed-networks", "127.0.0.2/32"))) {
            try (RawSmtp outsider = RawSmtp.connect(relay.port(), InetAddress.getByName("127.0.0.1"))) {
                String greeting = outsider.reply();
                assertTrue(greeting.startsWith("554 5.7.1"), greeting);
                assertTrue(greeting.contains("127.0.0.1 is not allowed"), greeting);
            }
            try (RawSmtp insider = RawSmtp.connect(relay.port(), InetAddress.getByName("127.0.0.2"))) {
                assertTrue(insider.reply().startsWith("220 "));
            }
        }
    }

    @Test
    void ehloAdvertisesTheExtensionsAndPipelinedCommandsAreHonoured() throws Exception {
        try (RelayFixture relay = relay(Map.of()); RawSmtp c = RawSmtp.connect(relay.port())) {
            assertTrue(c.reply().startsWith("220 tlsrelay"));
            String ehlo = c.command("EHLO scanner.lan");
            for (String ext : new String[] {"PIPELINING", "8BITMIME", "SIZE 26214400", "SMTPUTF8"}) {
                assertTrue(ehlo.contains("250-" + ext) || ehlo.contains("250 " + ext), ehlo);
            }
            // One write, as a pipelining client sends it (RFC 2920: up to DATA).
            c.sendRaw(("MAIL FROM:<scanner@office.test>\r\nRCPT TO:<a@office.test>\r\nRCPT TO:<b@office.test>\r\n"
                    + "DATA\r\n").getBytes(StandardCharsets.US_ASCII));
            assertTrue(c.reply().startsWith("250"), "MAIL");
            assertTrue(c.reply().startsWith("250"), "RCPT a");
            assertTrue(c.reply().startsWith("250"), "RCPT b");
            assertTrue(c.reply().startsWith("354"), "DATA");
            c.sendRaw("Subject: pipelined\r\n\r\nhello\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
            String end = c.reply();
            assertTrue(end.startsWith("250") && end.contains("caught as"), end);
            assertEquals("221", c.command("QUIT").substring(0, 3));
        }
        assertTrue(catcher.awaitMessages(1, Duration.ofSeconds(5)));
        assertEquals(2, catcher.received().get(0).recipients().size());
    }

    @Test
    void oversizedMessageIsRefusedWhileStreamingAndNothingIsDelivered() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.max-message-size", "1k"));
                RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO scanner.lan");
            assertTrue(c.command("MAIL FROM:<scanner@office.test> SIZE=5000").startsWith("552"),
                    "a declared size above the limit is refused at MAIL");
            assertTrue(c.command("MAIL FROM:<scanner@office.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<a@office.test>").startsWith("250"));
            assertTrue(c.command("DATA").startsWith("354"));
            c.sendRaw(("Subject: big\r\n\r\n" + "x".repeat(70).concat("\r\n").repeat(60) + "RSET\r\n.\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String reply = c.reply();
            assertTrue(reply.startsWith("552 5.3.4"), reply);
            // The body was drained (its "RSET" line was not run as a command) and the transaction
            // is over: the next one starts without RSET.
            assertTrue(c.command("MAIL FROM:<scanner@office.test>").startsWith("250"));
            String failed = relay.audit("message.failed").get(0).get("reason").asText();
            assertTrue(failed.contains("552 5.3.4 Message too big"), failed);
        }
        Thread.sleep(200);
        assertEquals(0, catcher.received().size());
        assertEquals(0, Files.list(dir.resolve("caught")).filter(p -> p.toString().endsWith(".eml")).count());
    }

    @Test
    void recipientLimitIsEnforced() throws Exception {
        try (RelayFixture relay = relay(Map.of("listen.max-recipients", "2"));
                RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO scanner.lan");
            c.command("MAIL FROM:<scanner@office.test>");
            assertTrue(c.command("RCPT TO:<a@office.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<b@office.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<c@office.test>").startsWith("452"));
        }
    }

    @Test
    void malformedAddressesAreRefusedAtTheEdge() throws Exception {
        try (RelayFixture relay = relay(Map.of()); RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO scanner.lan");
            String mail = c.command("MAIL FROM:<no-at-sign>");
            assertTrue(mail.startsWith("553 5.1.7"), mail);
            assertTrue(c.command("MAIL FROM:<>").startsWith("250"), "the null sender is valid");
            String rcpt = c.command("RCPT TO:<>");
            assertTrue(rcpt.startsWith("553 5.1.3"), rcpt);
        }
    }
}
