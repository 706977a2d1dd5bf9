package dev.tlsrelay.audit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Reads the raw lines of audit files in order, each with its file and line number. */
final class AuditLines {

    private AuditLines() {}

    /**
     * One line as found on disk.
     *
     * @param number     1-based line number within {@code file}
     * @param terminated false for a last line without its line end (cut short)
     * @param oversized  true when the line was longer than {@link AuditFiles#MAX_LINE} and was cut
     */
    record Line(Path file, long number, String text, boolean terminated, boolean oversized) {}

    /** Receives lines; returns false to stop reading. */
    @FunctionalInterface
    interface Visitor {
        boolean visit(Line line) throws IOException;
    }

    /** Reads every line of every file, in order, until the visitor says stop. */
    static void read(List<Path> files, Visitor visitor) throws IOException {
        for (Path f : files) {
            try (InputStream in = Files.newInputStream(f)) {
                if (!readFile(f, in, visitor)) {
                    return;
                }
            }
        }
    }

    private static boolean readFile(Path file, InputStream in, Visitor visitor) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        LineBuffer line = new LineBuffer();
        long number = 0;
        int n;
        while ((n = in.read(chunk)) > 0) {
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (chunk[i] == '\n') {
                    line.append(chunk, start, i - start);
                    number++;
                    if (!visitor.visit(new Line(file, number, line.text(), true, line.oversized))) {
                        return false;
                    }
                    line.reset();
                    start = i + 1;
                }
            }
            line.append(chunk, start, n - start);
        }
        if (line.size() > 0 || line.oversized) {
            number++;
            return visitor.visit(new Line(file, number, line.text(), false, line.oversized));
        }
        return true;
    }

    /** One line's bytes, bounded: past {@link AuditFiles#MAX_LINE} the rest is counted, not kept. */
    private static final class LineBuffer extends ByteArrayOutputStream {
        boolean oversized;

        void append(byte[] b, int off, int len) {
            int room = AuditFiles.MAX_LINE - count;
            if (len > room) {
                oversized = true;
                len = Math.max(0, room);
            }
            write(b, off, len);
        }

        String text() {
            return toString(StandardCharsets.UTF_8);
        }

        @Override
        public void reset() {
            super.reset();
            oversized = false;
        }
    }
}
