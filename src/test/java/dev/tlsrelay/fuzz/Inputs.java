package dev.tlsrelay.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.StringTokenizer;

/** Shows raw protocol bytes in failure messages: printable ASCII as is, the rest escaped. */
final class Inputs {

    private static final int SHOWN = 1500;

    private Inputs() {}

    static String show(byte[] bytes) {
        StringBuilder sb = new StringBuilder("\"");
        int n = Math.min(bytes.length, SHOWN);
        for (int i = 0; i < n; i++) {
            int b = bytes[i] & 0xff;
            switch (b) {
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\\' -> sb.append("\\\\");
                case '"' -> sb.append("\\\"");
                default -> {
                    if (b >= 0x20 && b < 0x7f) {
                        sb.append((char) b);
                    } else {
                        sb.append(String.format("\\x%02x", b));
                    }
                }
            }
        }
        sb.append('"');
        if (bytes.length > SHOWN) {
            sb.append(" ... (").append(bytes.length).append(" bytes in all)");
        }
        return sb.toString();
    }

    /**
     * An upper bound on the messages a client finished in {@code input}: each {@code <CRLF>.<CRLF>}
     * (the end of a DATA body) plus each {@code BDAT <n> LAST} line followed by at least n more
     * bytes (the line split into words as SubEthaSMTP splits it). Counted generously (anywhere,
     * overlapping, in bodies too) so that it never counts too few: a relay that acknowledged more
     * messages than this relayed one the client never finished.
     */
    static int finishedMessages(byte[] input) {
        int count = 0;
        for (int i = 0; i + 5 <= input.length; i++) {
            if (input[i] == '\r' && input[i + 1] == '\n' && input[i + 2] == '.' && input[i + 3] == '\r'
                    && input[i + 4] == '\n') {
                count++;
            }
            // SubEthaSMTP dispatches on the first four characters only ("BDATX 5 LAST" is a BDAT).
            if (new String(input, i, 4, StandardCharsets.ISO_8859_1).equalsIgnoreCase("BDAT")) {
                int end = indexOfCrlf(input, i);
                if (end >= 0 && completeLastChunk(new String(input, i, end - i, StandardCharsets.UTF_8),
                        input.length - (end + 2))) {
                    count++;
                }
            }
        }
        return count;
    }

    /** Whether a BDAT line (split as SubEthaSMTP splits it) is a LAST chunk that fits in what follows. */
    private static boolean completeLastChunk(String line, int following) {
        StringTokenizer t = new StringTokenizer(line);
        if (t.countTokens() != 3) {
            return false;
        }
        t.nextToken();
        String size = t.nextToken();
        if (!t.nextToken().equalsIgnoreCase("LAST")) {
            return false;
        }
        try {
            long n = Long.parseLong(size);
            return n >= 0 && n <= following;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static int indexOfCrlf(byte[] b, int from) {
        for (int i = from; i + 1 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                return i;
            }
        }
        return -1;
    }

    /** True if every CR is followed by LF and every LF preceded by CR. */
    static boolean canonicalLineEndings(byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '\r' && (i + 1 == bytes.length || bytes[i + 1] != '\n')) {
                return false;
            }
            if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) {
                return false;
            }
        }
        return true;
    }
}
