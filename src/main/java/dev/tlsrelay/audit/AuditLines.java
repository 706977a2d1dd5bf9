package dev.tlsrelay.audit;

import java.io.BufferedInputStream;
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
            try (InputStream in = new BufferedInputStream(Files.newInputStream(f), 64 * 1024)) {
                if (!readFile(f, in, visitor)) {
                    return;
                }
            }
        }
    }

    private static boolean readFile(Path file, InputStream in, Visitor visitor) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(1024);
        long number = 0;
        boolean oversized = false;
        int b;
        while ((b = in.read()) != -1) {
            if (b == '\n') {
                number++;
                if (!visitor.visit(new Line(file, number, buf.toString(StandardCharsets.UTF_8), true, oversized))) {
                    return false;
                }
                buf.reset();
                oversized = false;
            } else if (buf.size() < AuditFiles.MAX_LINE) {
                buf.write(b);
            } else {
                oversized = true; // bounded memory: keep the start of the line, skip the rest
            }
        }
        if (buf.size() > 0 || oversized) {
            number++;
            return visitor.visit(new Line(file, number, buf.toString(StandardCharsets.UTF_8), false, oversized));
        }
        return true;
    }
}
