package dev.tlsrelay.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The SubEthaSMTP faults the inbound fuzz test found, each answered as it should be now. */
@Timeout(60)
class CommandGuardsTest {

    @TempDir
    static Path dir;

    private static Catcher catcher;
    private static RelayFixture relay;

    @BeforeAll
    static void start() throws Exception {
        TestPki pki = new TestPki();
        catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
        relay = RelayFixture.start(dir, Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(catcher.port()),
                "upstream.tls.ca-file", pki.writeCa(dir).toString()));
    }

    @AfterAll
    static void stop() {
        relay.close();
        catcher.close();
    }

    private static RawSmtp session() throws Exception {
        RawSmtp c = RawSmtp.connect(relay.port());
        assertTrue(c.reply().startsWith("220 "));
        assertTrue(c.command("EHLO legacy.lan").startsWith("250"));
        return c;
    }

    @Test
    void sizeBeyondAnIntIsRefusedAsTooBigAndTheSessionGoesOn() throws Exception {
        try (RawSmtp c = session()) {
            String reply = c.command("MAIL FROM:<scanner@office.test> SIZE=2147483648");
            assertTrue(reply.startsWith("552 5.3.4"), reply);
            assertTrue(c.command("MAIL FROM:<scanner@office.test> SIZE=99999999999999999999").startsWith("552 5.3.4"));
            assertTrue(c.command("MAIL FROM:<scanner@office.test> SIZE=2147483647").startsWith("552 5.3.4"),
                    "still above the 25 MiB limit, and refused the usual way");
            assertTrue(c.command("MAIL FROM:<scanner@office.test> SIZE=1000").startsWith("250"));
        }
    }

    @Test
    void controlCharactersAreRefusedAndNotEchoed() throws Exception {
        try (RawSmtp c = session()) {
            c.sendRaw("MAIL FROM:<a\u0000b@office.test>\r\nHELP \u001b[31m\r\n".getBytes(StandardCharsets.ISO_8859_1));
            for (int i = 0; i < 2; i++) {
                String reply = c.reply();
                assertEquals("501 5.5.2 Syntax error: control character in command", reply);
            }
            assertTrue(c.command("MAIL FROM:<scanner@office.test>").startsWith("250"), "the session goes on");
        }
    }

    @Test
    void helpAnswersOneWellFormedLine() throws Exception {
        try (RawSmtp c = session()) {
            assertEquals("214 2.0.0 See RFC 5321", c.command("HELP DATA"));
            assertEquals("214 2.0.0 See RFC 5321", c.command("HELP"));
        }
    }

    @Test
    void bdatInChunksIsRelayedWhole() throws Exception {
        int before = catcher.received().size();
        try (RawSmtp c = session()) {
            assertTrue(c.command("MAIL FROM:<scanner@office.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<a@office.test>").startsWith("250"));
            c.sendRaw("BDAT 19\r\nSubject: chunks\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("250 2.0.0 19 octets received", c.reply());
            c.sendRaw("BDAT 7 LAST\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
            String reply = c.reply();
            assertTrue(reply.startsWith("250 2.0.0 Ok: caught as"), reply);
        }
        assertEquals(before + 1, catcher.received().size());
        String eml = Files.readString(catcher.received().get(before).eml());
        assertTrue(eml.endsWith("Subject: chunks\r\n\r\nhello\r\n"), eml);
    }

    @Test
    void bdatCutShortByTheClientRelaysNothing() throws Exception {
        int before = catcher.received().size();
        for (String input : new String[] {
            "BDAT 100 LAST\r\nonly a few bytes", // inside the last chunk
            "BDAT 99999999999 LAST\r\nhello\r\n", // a size never to be reached
            "BDAT 19\r\nSubject: chunks\r\n\r\n", // between two chunks
        }) {
            // The client sends its envelope and the cut-off chunk, then closes its side.
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
                s.setSoTimeout(15_000);
                s.getOutputStream().write(("EHLO legacy.lan\r\nMAIL FROM:<scanner@office.test>\r\n"
                        + "RCPT TO:<a@office.test>\r\n" + input).getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                String replies = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertFalse(replies.contains("caught as"), input + " got " + replies);
                assertTrue(replies.endsWith("421 4.4.0 Problem attempting to execute commands. Please try again"
                        + " later.\r\n"), replies);
            }
        }
        Thread.sleep(200);
        assertEquals(before, catcher.received().size(), "nothing reached the upstream");
        assertTrue(relay.awaitAudit("message.failed", 3, Duration.ofSeconds(5)).size() >= 3);
    }
}
