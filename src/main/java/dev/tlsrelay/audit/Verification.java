package dev.tlsrelay.audit;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The outcome of checking an audit log's chain.
 *
 * @param lines     audit lines checked
 * @param firstSeq  seq of the first line checked
 * @param lastSeq   seq of the last line checked before a problem (or of the last line)
 * @param live      a relay holds the last file open and may still be writing it
 * @param algorithm {@code sha256} or {@code hmac-sha256}: how the chain was checked
 * @param problem   the first line that breaks the chain; empty when the chain is intact
 * @param notes     things worth knowing that do not break the chain (a crash, a retention deletion)
 */
public record Verification(
        List<Path> files,
        long lines,
        long firstSeq,
        long lastSeq,
        boolean live,
        String algorithm,
        Optional<Finding> problem,
        List<Finding> notes) {

    public Verification {
        files = List.copyOf(files);
        notes = List.copyOf(notes);
    }

    /** Where and what: {@code line} counts from 1 within {@code file}. */
    public record Finding(Path file, long line, String what) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + what;
        }
    }

    public boolean intact() {
        return problem.isEmpty();
    }

    /** One sentence for people: the verdict, where it breaks and why. */
    public String verdict() {
        return problem.map(p -> "BROKEN at " + p)
                .orElseGet(() -> "intact: " + lines + " lines, seq " + firstSeq + "-" + lastSeq + ", " + algorithm
                        + (live ? " (a relay is writing the last file)" : ""));
    }
}
