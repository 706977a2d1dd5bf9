package dev.tlsrelay.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Line I/O for the small scripted SMTP servers of the tests. */
final class SmtpLines {

    private SmtpLines() {}

    /**
     * One line without its CRLF, or null at end of stream. Read byte by byte, so nothing after the
     * line is consumed: after STARTTLS the next bytes belong to TLS.
     */
    static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                return sb.toString().strip();
            }
            sb.append((char) c);
        }
        return null;
    }

    /** Writes a reply (lines joined with CRLF inside {@code text}) and flushes. */
    static void reply(OutputStream out, String text) throws IOException {
        out.write((text + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }
}
