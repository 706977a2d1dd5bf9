package dev.tlsrelay.inbound;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Rewrites the From: header of a message to the relay's sending account, keeping the original in
 * Reply-To (unless the message has one), because Microsoft 365 and Gmail refuse mail whose From is not
 * the authenticated account. Only the header block is read into memory, and at most
 * {@link #MAX_HEADER} of it; a longer header is passed on unchanged.
 */
final class HeaderFromRewriter {

    static final int MAX_HEADER = 64 * 1024;

    private final String from;

    HeaderFromRewriter(String from) {
        this.from = from;
    }

    InputStream wrap(InputStream body) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int prev = -1;
        int c;
        boolean complete = false;
        while (head.size() < MAX_HEADER && (c = body.read()) != -1) {
            head.write(c);
            if (c == '\n' && (prev == '\n' || endsWithBlankCrLf(head))) {
                complete = true;
                break;
            }
            prev = c;
        }
        byte[] rewritten = complete ? rewrite(head.toByteArray()) : head.toByteArray();
        return new SequenceInputStream(new ByteArrayInputStream(rewritten), body);
    }

    private static boolean endsWithBlankCrLf(ByteArrayOutputStream b) {
        byte[] a = b.toByteArray();
        int n = a.length;
        return n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n'
                || n == 2 && a[0] == '\r' && a[1] == '\n';
    }

    /** The header block with From: replaced and Reply-To added; folded lines are kept together. */
    byte[] rewrite(byte[] header) {
        String text = new String(header, StandardCharsets.ISO_8859_1);
        String eol = text.contains("\r\n") ? "\r\n" : "\n";
        List<String> fields = new ArrayList<>();
        for (String line : text.split("\r?\n", -1)) {
            if ((line.startsWith(" ") || line.startsWith("\t")) && !fields.isEmpty()) {
                fields.set(fields.size() - 1, fields.get(fields.size() - 1) + eol + line);
            } else {
                fields.add(line);
            }
        }
        String originalFrom = null;
        boolean hasReplyTo = false;
        List<String> out = new ArrayList<>();
        for (String f : fields) {
            String lower = f.toLowerCase(Locale.ROOT);
            if (lower.startsWith("from:")) {
                originalFrom = f.substring(5).strip();
                out.add("From: <" + from + ">");
            } else {
                hasReplyTo |= lower.startsWith("reply-to:");
                out.add(f);
            }
        }
        if (originalFrom != null && !hasReplyTo) {
            // Before the blank line that ends the header block.
            int blank = out.size() - 1;
            while (blank > 0 && !out.get(blank).isEmpty()) {
                blank--;
            }
            out.add(blank, "Reply-To: " + originalFrom);
        }
        return String.join(eol, out).getBytes(StandardCharsets.ISO_8859_1);
    }
}
