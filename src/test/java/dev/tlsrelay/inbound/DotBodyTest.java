package dev.tlsrelay.inbound;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.smtp.internal.io.DotTerminatedInputStream;
import org.subethamail.smtp.internal.io.DotUnstuffingInputStream;

/**
 * The relay's bulk DATA reader gives the bytes SubEthaSMTP's own byte-at-a-time streams give, ends
 * where they end and leaves the session's input where they leave it, for any input.
 */
@Timeout(120)
class DotBodyTest {

    private static final byte[] ALPHABET = ".\r\na".getBytes(StandardCharsets.US_ASCII);

    @Test
    void sameBytesAndSameEndAsSubEthaSmtpForRandomInputs() throws IOException {
        Random random = new Random(20261123);
        for (int i = 0; i < 30_000; i++) {
            byte[] input = new byte[random.nextInt(40)];
            for (int j = 0; j < input.length; j++) {
                input[j] = ALPHABET[random.nextInt(ALPHABET.length)];
            }
            if (random.nextBoolean()) {
                // Mostly with an end somewhere and commands after it, as a pipelining client sends them.
                input = concat(input, "\r\n.\r\nMAIL FROM:<a@b>\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            assertSameAsSubEthaSmtp(input, random.nextInt(6) + 1);
        }
    }

    @Test
    void bodiesLongerThanOneReadAndEndsAcrossReadBoundaries() throws IOException {
        Random random = new Random(7);
        for (int i = 0; i < 200; i++) {
            StringBuilder body = new StringBuilder();
            while (body.length() < 30_000) {
                body.append(random.nextInt(4) == 0 ? "." : "").append("line ").append(i).append("\r\n");
            }
            byte[] input = (body + ".\r\nQUIT\r\n").getBytes(StandardCharsets.US_ASCII);
            assertSameAsSubEthaSmtp(input, 1 + random.nextInt(9000));
        }
    }

    @Test
    void theEndOfTheConnectionBeforeTheFinalDotIsAnError() {
        InputStream in = new BufferedInputStream(new ByteArrayInputStream("Subject: x\r\n\r\ncut".getBytes()));
        assertThrows(EOFException.class, () -> new DotBody(in).readAllBytes());
    }

    @TempDir
    Path dir;

    @Test
    void aPipelinedSessionThroughTheRelayKeepsEveryMessageAndCommandApart() throws Exception {
        TestPki pki = new TestPki();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.host", "127.0.0.1",
                        "upstream.port", String.valueOf(catcher.port()),
                        "upstream.tls.ca-file", pki.writeCa(dir).toString()));
                RawSmtp c = RawSmtp.connect(relay.port())) {
            assertTrue(c.reply().startsWith("220 "));
            assertTrue(c.command("EHLO legacy.lan").startsWith("250"));
            StringBuilder big = new StringBuilder();
            for (int i = 0; i < 3000; i++) {
                big.append(i % 3 == 0 ? ".." : "").append("row ").append(i).append("\r\n");
            }
            // Two transactions in one write, each body with stuffed dots, the second one large.
            c.sendRaw(("MAIL FROM:<scanner@office.test>\r\nRCPT TO:<a@office.test>\r\nDATA\r\n"
                    + "..first line stuffed\r\nSubject: one\r\n\r\n..dot\r\n.\r\n"
                    + "MAIL FROM:<scanner@office.test>\r\nRCPT TO:<b@office.test>\r\nDATA\r\n"
                    + "Subject: two\r\n\r\n" + big + ".\r\nNOOP\r\n").getBytes(StandardCharsets.US_ASCII));
            for (String expected : new String[] {"250", "250", "354", "250", "250", "250", "354", "250", "250"}) {
                String reply = c.reply();
                assertTrue(reply.startsWith(expected), expected + " expected, got " + reply);
            }
            assertTrue(catcher.awaitMessages(2, java.time.Duration.ofSeconds(10)));
            String one = Files.readString(catcher.received().get(0).eml());
            String two = Files.readString(catcher.received().get(1).eml());
            assertTrue(one.endsWith(".first line stuffed\r\nSubject: one\r\n\r\n.dot\r\n"), one);
            String expectedTwo = ("Subject: two\r\n\r\n" + big).replace("\r\n..", "\r\n.");
            assertEquals(expectedTwo, two.substring(two.indexOf("Subject: two")));
        }
    }

    private static void assertSameAsSubEthaSmtp(byte[] input, int readSize) throws IOException {
        InputStream theirsIn = new BufferedInputStream(new Trickle(input, readSize), 8192);
        InputStream oursIn = new BufferedInputStream(new Trickle(input, readSize), 8192);
        Result theirs = drain(new DotUnstuffingInputStream(new DotTerminatedInputStream(theirsIn)), 1);
        Result ours = drain(new DotBody(oursIn), 1 + (input.length % 5000));
        String what = new String(input, StandardCharsets.ISO_8859_1).replace("\r", "\\r").replace("\n", "\\n");
        assertEquals(theirs.failed, ours.failed, what);
        if (!theirs.failed) {
            assertArrayEquals(theirs.body, ours.body, what);
            assertArrayEquals(theirsIn.readAllBytes(), oursIn.readAllBytes(), "what follows the end: " + what);
        }
    }

    private record Result(byte[] body, boolean failed) {}

    private static Result drain(InputStream body, int readSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[readSize];
        try {
            for (int n; (n = body.read(buf, 0, buf.length)) >= 0; ) {
                out.write(buf, 0, n);
            }
            return new Result(out.toByteArray(), false);
        } catch (IOException e) {
            return new Result(out.toByteArray(), true);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = new byte[a.length + b.length];
        System.arraycopy(a, 0, c, 0, a.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** A socket-like input: gives at most {@code max} bytes per read. */
    private static final class Trickle extends ByteArrayInputStream {
        private final int max;

        Trickle(byte[] bytes, int max) {
            super(bytes);
            this.max = max;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) {
            return super.read(b, off, Math.min(len, max));
        }
    }
}
