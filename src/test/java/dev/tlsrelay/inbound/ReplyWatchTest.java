package dev.tlsrelay.inbound;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlsrelay.config.ConfigLoader;
import dev.tlsrelay.config.RelayConfig;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The EHLO reply with PIPELINING inserted leaves in one write. Three writes to the unbuffered socket
 * stream were three TCP segments; with Nagle and the client's delayed ACK every EHLO took 40 ms
 * (found by the benchmark, src/bench/run: a device sending one message per connection waited 40 ms
 * per message for nothing).
 */
class ReplyWatchTest {

    /** Records every write that reaches it. */
    private static final class Writes extends OutputStream {
        final List<byte[]> writes = new ArrayList<>();

        @Override
        public void write(int b) {
            writes.add(new byte[] {(byte) b});
        }

        @Override
        public void write(byte[] b, int off, int len) {
            byte[] copy = new byte[len];
            System.arraycopy(b, off, copy, 0, len);
            writes.add(copy);
        }
    }

    private static RelayConfig.Abuse limits() throws Exception {
        return ConfigLoader.fromValues(Map.of("upstream.host", "smtp.corp.test"), Map.of()).listen().abuse();
    }

    @Test
    void ehloReplyWithPipeliningIsOneWrite() throws Exception {
        Writes socketStream = new Writes();
        String ehlo = "250-tlsrelay\r\n250-8BITMIME\r\n250-SIZE 26214400\r\n250 Ok\r\n";
        try (Socket unconnected = new Socket()) {
            GuardedServerSocket.ReplyWatch watch = new GuardedServerSocket.ReplyWatch(socketStream, unconnected,
                    limits());
            byte[] b = ("xx" + ehlo).getBytes(StandardCharsets.US_ASCII);
            watch.write(b, 2, b.length - 2);
        }
        assertEquals(1, socketStream.writes.size(), "the EHLO reply must reach the socket in one write");
        assertEquals("250-tlsrelay\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 26214400\r\n250 Ok\r\n",
                new String(socketStream.writes.get(0), StandardCharsets.US_ASCII));
    }

    @Test
    void otherRepliesPassUnchangedInOneWrite() throws Exception {
        Writes socketStream = new Writes();
        try (Socket unconnected = new Socket()) {
            GuardedServerSocket.ReplyWatch watch = new GuardedServerSocket.ReplyWatch(socketStream, unconnected,
                    limits());
            byte[] b = "250 2.1.0 Ok\r\n".getBytes(StandardCharsets.US_ASCII);
            watch.write(b, 0, b.length);
        }
        assertEquals(1, socketStream.writes.size());
        assertEquals("250 2.1.0 Ok\r\n", new String(socketStream.writes.get(0), StandardCharsets.US_ASCII));
    }

    /** The same stream, through a buffer: nothing else changes, the bytes are the same. */
    @Test
    void bytesAreTheSameAsBefore() throws Exception {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try (Socket unconnected = new Socket()) {
            GuardedServerSocket.ReplyWatch watch = new GuardedServerSocket.ReplyWatch(sink, unconnected, limits());
            byte[] b = "250-h\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".getBytes(StandardCharsets.US_ASCII);
            watch.write(b, 0, b.length);
        }
        assertEquals("250-h\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n", sink.toString(StandardCharsets.US_ASCII));
    }
}
