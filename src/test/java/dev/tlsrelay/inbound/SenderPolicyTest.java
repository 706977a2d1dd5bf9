package dev.tlsrelay.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.CaughtMessage;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Who may send, and as whom the upstream sees the mail. */
@Timeout(60)
class SenderPolicyTest {

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();
    private Catcher upstream;

    @BeforeEach
    void start() throws Exception {
        upstream = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
    }

    @AfterEach
    void stop() {
        upstream.close();
    }

    private RelayFixture relay(Map<String, String> policy) throws Exception {
        return RelayFixture.startFor(dir, upstream, pki, policy);
    }

    private static String send(RawSmtp c, String sender, String body) throws Exception {
        c.reply();
        c.command("EHLO scanner.lan");
        String mail = c.command("MAIL FROM:<" + sender + ">");
        if (!mail.startsWith("250")) {
            return mail;
        }
        c.command("RCPT TO:<admin@office.test>");
        c.command("DATA");
        return c.command(body + "\r\n.");
    }

    @Test
    void onlyListedSendersMayRelay() throws Exception {
        try (RelayFixture relay = relay(Map.of("relay.allowed-senders", "scanner@office.test, monitoring.test"))) {
            try (RawSmtp c = RawSmtp.connect(relay.port())) {
                String refused = send(c, "mallory@elsewhere.test", "Subject: x\r\n\r\nx");
                assertTrue(refused.startsWith("553 5.7.1 Sender <mallory@elsewhere.test> is not allowed"), refused);
            }
            try (RawSmtp c = RawSmtp.connect(relay.port())) {
                assertTrue(send(c, "Scanner@Office.test", "Subject: x\r\n\r\nx").startsWith("250"));
            }
            try (RawSmtp c = RawSmtp.connect(relay.port())) {
                assertTrue(send(c, "nagios@monitoring.test", "Subject: x\r\n\r\nx").startsWith("250"));
            }
        }
        assertTrue(upstream.awaitMessages(2, Duration.ofSeconds(10)));
    }

    @Test
    void envelopeAndHeaderSenderAreRewrittenToTheAccount() throws Exception {
        try (RelayFixture relay = relay(Map.of("relay.rewrite-from", "relay-account@office.test",
                "relay.rewrite-header-from", "true"));
                RawSmtp c = RawSmtp.connect(relay.port())) {
            String reply = send(c, "printer-7@office.test",
                    "From: Printer 7\r\n <printer-7@office.test>\r\nSubject: scan\r\n\r\nbody\r\nFrom: not a header\r\n");
            assertTrue(reply.startsWith("250"), reply);
        }
        assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(10)));
        CaughtMessage m = upstream.received().get(0);
        assertEquals("relay-account@office.test", m.mailFrom(), "the upstream's envelope sender is the account");
        String eml = Files.readString(m.eml());
        assertTrue(eml.contains("\r\nFrom: <relay-account@office.test>\r\n"), eml);
        assertTrue(eml.contains("\r\nReply-To: Printer 7\r\n <printer-7@office.test>\r\n"), eml);
        assertTrue(eml.contains("\r\nbody\r\nFrom: not a header\r\n"), "the body is not touched");
    }

    @Test
    void bouncesKeepTheNullSender() throws Exception {
        try (RelayFixture relay = relay(Map.of("relay.rewrite-from", "relay-account@office.test"));
                RawSmtp c = RawSmtp.connect(relay.port())) {
            assertTrue(send(c, "", "Subject: bounce\r\n\r\nx").startsWith("250"));
        }
        assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(10)));
        assertEquals("", upstream.received().get(0).mailFrom());
    }
}
