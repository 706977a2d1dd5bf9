package dev.tlsrelay.probe;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The client side of a few SMTP commands over a socket: greeting, EHLO, STARTTLS, QUIT. The probe
 * speaks SMTP itself because it must see what an MTA client library hides: the capabilities before
 * and after TLS, and the exact replies. Everything read is bounded (line length, lines per reply),
 * and bytes are read one at a time before TLS, so nothing the server sends after its {@code 220} to
 * STARTTLS is ever read as a reply: the TLS layer gets it, and a handshake with injected bytes fails.
 */
final class SmtpConversation {

    /** RFC 5321 allows 512 octets per reply line; some servers send longer ones. */
    static final int MAX_LINE = 2048;
    static final int MAX_LINES = 100;

    private InputStream in;
    private OutputStream out;

    SmtpConversation(InputStream in, OutputStream out) {
        this.in = in;
        this.out = out;
    }

    /** Continues over new streams (after the TLS handshake). */
    void switchTo(InputStream newIn, OutputStream newOut) {
        this.in = newIn;
        this.out = newOut;
    }

    /** Sends one command and reads its reply. */
    Reply command(String line) throws IOException {
        if (line.indexOf('\r') >= 0 || line.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("one command per line");
        }
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return reply();
    }

    /** Reads one complete, possibly multi-line, reply. */
    Reply reply() throws IOException {
        List<String> texts = new ArrayList<>();
        int code = -1;
        while (true) {
            String line = line();
            if (line.length() < 3 || !line.substring(0, 3).chars().allMatch(Character::isDigit)
                    || (line.length() > 3 && line.charAt(3) != ' ' && line.charAt(3) != '-')) {
                throw new ProtocolException("not an SMTP reply: \"" + printable(line) + "\"");
            }
            int c = Integer.parseInt(line.substring(0, 3));
            if (code >= 0 && c != code) {
                throw new ProtocolException("reply code changed within one reply: " + code + " then " + c);
            }
            code = c;
            texts.add(line.length() > 4 ? line.substring(4) : "");
            if (line.length() == 3 || line.charAt(3) == ' ') {
                return new Reply(code, texts);
            }
            if (texts.size() >= MAX_LINES) {
                throw new ProtocolException("reply longer than " + MAX_LINES + " lines");
            }
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new java.io.EOFException("the server closed the connection"
                        + (buf.size() > 0 ? " in the middle of a line" : ""));
            }
            if (b == '\n') {
                String s = buf.toString(StandardCharsets.UTF_8);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            if (buf.size() >= MAX_LINE) {
                throw new ProtocolException("reply line longer than " + MAX_LINE + " bytes");
            }
            buf.write(b);
        }
    }

    /** Control characters shown as '?', and at most 100 characters: server text goes to a terminal. */
    static String printable(String s) {
        String t = s.length() > 100 ? s.substring(0, 100) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }

    /**
     * One SMTP reply.
     *
     * @param lines the text of each line, without code and separator
     */
    record Reply(int code, List<String> lines) {
        Reply {
            lines = List.copyOf(lines);
        }

        boolean positive() {
            return code >= 200 && code < 400;
        }

        /** The reply on one line, e.g. {@code 220 mx.example.com ESMTP}, safe to print. */
        String oneLine() {
            return printable(code + " " + String.join(" ", lines));
        }
    }
}
