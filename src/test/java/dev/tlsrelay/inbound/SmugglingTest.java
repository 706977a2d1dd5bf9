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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SMTP smuggling: a body holding a fake end-of-data followed by a second transaction. Whatever the
 * variant and the policy, the upstream receives at most one message, with CRLF line endings only.
 */
@Timeout(60)
class SmugglingTest {

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

    /** Published fake terminators (SEC Consult 2023 and later write-ups). */
    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("LF.LF", "\n.\n"),
                Arguments.of("LF.CRLF", "\n.\r\n"),
                Arguments.of("CR.CR", "\r.\r"),
                Arguments.of("CRLF.CR", "\r\n.\r"),
                Arguments.of("CR.LF", "\r.\n"),
                Arguments.of("CRLF.LF", "\r\n.\n"),
                Arguments.of("LF.CR", "\n.\r"),
                Arguments.of("CR.CRLF", "\r.\r\n"));
    }

    private byte[] smugglingBody(String fakeEnd) {
        return ("Subject: invoice\r\n\r\nfirst message" + fakeEnd
                + "MAIL FROM:<ceo@victim.test>\r\nRCPT TO:<finance@victim.test>\r\nDATA\r\n"
                + "Subject: smuggled\r\n\r\npay now\r\n.\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }

    private RelayFixture relay(String bareNewline) throws Exception {
        return RelayFixture.startFor(dir, upstream, pki, Map.of("listen.bare-newline", bareNewline));
    }

    private static String sendOne(RawSmtp c, byte[] body) throws Exception {
        c.reply();
        c.command("EHLO scanner.lan");
        assertTrue(c.command("MAIL FROM:<scanner@office.test>").startsWith("250"));
        assertTrue(c.command("RCPT TO:<admin@office.test>").startsWith("250"));
        assertTrue(c.command("DATA").startsWith("354"));
        c.sendRaw(body);
        return c.reply();
    }

    @ParameterizedTest(name = "{0} is refused")
    @MethodSource("variants")
    void rejectModeRefusesTheMessageAndRunsNothingFromIt(String name, String fakeEnd) throws Exception {
        try (RelayFixture relay = relay("reject"); RawSmtp c = RawSmtp.connect(relay.port())) {
            String reply = sendOne(c, smugglingBody(fakeEnd));
            assertTrue(reply.startsWith("550 5.6.0 Bare"), name + ": " + reply);
            // Nothing of the body ran as a command: the next reply answers our NOOP.
            assertTrue(c.command("NOOP").startsWith("250"), name);
            assertEquals("221", c.command("QUIT").substring(0, 3));
        }
        Thread.sleep(200);
        assertEquals(0, upstream.received().size(), name + ": nothing may reach the upstream");
    }

    @ParameterizedTest(name = "{0} is normalized into one message")
    @MethodSource("variants")
    void normalizeModeDeliversExactlyOneCanonicalMessage(String name, String fakeEnd) throws Exception {
        try (RelayFixture relay = relay("normalize"); RawSmtp c = RawSmtp.connect(relay.port())) {
            String reply = sendOne(c, smugglingBody(fakeEnd));
            assertTrue(reply.startsWith("250"), name + ": " + reply);
            assertTrue(c.command("NOOP").startsWith("250"), name);
        }
        assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(10)));
        Thread.sleep(300);
        assertEquals(1, upstream.received().size(), name + ": one transaction, one upstream message");
        byte[] eml = Files.readAllBytes(upstream.received().get(0).eml());
        String text = new String(eml, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("first message") && text.contains("Subject: smuggled"),
                name + ": the fake second message is just body text");
        for (int i = 0; i < eml.length; i++) {
            if (eml[i] == '\n') {
                assertTrue(i > 0 && eml[i - 1] == '\r', name + ": bare LF at " + i);
            }
            if (eml[i] == '\r') {
                assertTrue(i + 1 < eml.length && eml[i + 1] == '\n', name + ": bare CR at " + i);
            }
        }
        assertFalse(upstream.received().get(0).recipients().contains("finance@victim.test"));
    }
}
