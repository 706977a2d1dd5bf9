package dev.tlsrelay.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What the relay said on one connection to which a client wrote some bytes and then closed its
 * sending side: the raw reply bytes, split into SMTP replies, and how the connection ended.
 *
 * <p>The client writes from its own thread while this one reads, as a pipelining client would, so
 * a relay that stops reading cannot block the reader, and every reply the relay sent before it
 * closed is collected.
 */
final class Transcript {

    /** How the relay's side of the connection ended. */
    enum End {
        /** Orderly close after the last reply: everything it sent was read. */
        CLOSED,
        /**
         * Reset: the relay closed with client bytes still unread (as it does after QUIT or a fatal
         * syntax error). The replies read before it are complete lines, but the tail may be lost.
         */
        RESET,
        /** Neither closed nor answered within the deadline: a hang. */
        TIMED_OUT
    }

    /** One reply: its code and its lines as sent (without CRLF). */
    record Reply(int code, List<String> lines) {
        String text() {
            return String.join("\n", lines);
        }
    }

    /**
     * A reply line: three digits, the first 2 to 5, then a space (last line) or a hyphen
     * (continuation), then text without control characters (RFC 5321 textstring: TAB and printable
     * ASCII; bytes above 127 are let through, as an SMTPUTF8 server may echo UTF-8 addresses).
     * Lines are read as ISO-8859-1, one char per byte.
     */
    private static final Pattern LINE = Pattern.compile("[2-5][0-9]{2}[ -][^\\x00-\\x08\\x0a-\\x1f\\x7f]*");

    final byte[] raw;
    final End end;
    final int clientPort;

    private Transcript(byte[] raw, End end, int clientPort) {
        this.raw = raw;
        this.end = end;
        this.clientPort = clientPort;
    }

    /**
     * Connects, writes {@code input} (concurrently with reading), closes the sending side and reads
     * until the relay closes the connection or {@code deadline} passes.
     */
    static Transcript exchange(int port, byte[] input, Duration deadline) throws IOException, InterruptedException {
        Socket socket = new Socket();
        Thread writer = null;
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
            socket.setSoTimeout((int) deadline.toMillis());
            OutputStream out = socket.getOutputStream();
            writer = Thread.ofVirtual().start(() -> {
                try {
                    out.write(input);
                    out.flush();
                    socket.shutdownOutput();
                } catch (IOException closedByTheRelay) {
                    // The relay hung up first (QUIT, a fatal error): the rest of the input is moot.
                }
            });
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            long stopAt = System.nanoTime() + deadline.toNanos();
            End end;
            while (true) {
                int n;
                try {
                    n = in.read(buf);
                } catch (SocketTimeoutException e) {
                    end = End.TIMED_OUT;
                    break;
                } catch (SocketException e) {
                    end = End.RESET;
                    break;
                }
                if (n < 0) {
                    end = End.CLOSED;
                    break;
                }
                got.write(buf, 0, n);
                if (System.nanoTime() > stopAt) {
                    end = End.TIMED_OUT;
                    break;
                }
            }
            return new Transcript(got.toByteArray(), end, socket.getLocalPort());
        } finally {
            socket.close(); // also unblocks a writer the relay stopped reading from
            if (writer != null) {
                writer.join();
            }
        }
    }

    /**
     * The replies, checked for form: CRLF-terminated lines only (a lone CR or LF would be input
     * reflected into the reply stream), each matching {@link #LINE}, every continuation followed by
     * a line with the same code, and nothing left unterminated unless the connection was reset.
     *
     * @throws AssertionError describing the first malformed byte or line
     */
    List<Reply> replies() {
        List<Reply> replies = new ArrayList<>();
        List<String> pending = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < raw.length; i++) {
            byte b = raw[i];
            if (b == '\r' && i + 1 < raw.length && raw[i + 1] == '\n') {
                String line = new String(raw, start, i - start, StandardCharsets.ISO_8859_1);
                if (!LINE.matcher(line).matches()) {
                    throw new AssertionError("malformed reply line " + Inputs.show(line.getBytes(
                            StandardCharsets.ISO_8859_1)) + " at byte " + start);
                }
                if (!pending.isEmpty() && !pending.get(0).regionMatches(0, line, 0, 3)) {
                    throw new AssertionError("reply line " + line + " continues a reply with another code: "
                            + pending);
                }
                pending.add(line);
                if (line.charAt(3) == ' ') {
                    replies.add(new Reply(Integer.parseInt(line.substring(0, 3)), List.copyOf(pending)));
                    pending.clear();
                }
                i++;
                start = i + 1;
            } else if (b == '\r' && i + 1 == raw.length && end == End.RESET) {
                break; // cut short by the reset: incomplete, not malformed
            } else if (b == '\r' || b == '\n') {
                throw new AssertionError("bare " + (b == '\r' ? "CR" : "LF") + " in the reply stream at byte " + i
                        + ": " + Inputs.show(raw));
            }
        }
        boolean complete = start == raw.length && pending.isEmpty();
        if (!complete && end != End.RESET) {
            throw new AssertionError("the relay closed the connection in the middle of a reply: " + Inputs.show(raw));
        }
        return replies;
    }
}
