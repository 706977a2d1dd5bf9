package dev.tlsrelay.audit;

/**
 * When the active audit file is closed and renamed, and how many rotated files are kept. The hash
 * chain runs on across rotated files: they are one log cut into pieces.
 *
 * @param maxSize  rotate before a line would take the active file past this many bytes; 0: never by size
 * @param daily    also rotate at the first line written after midnight UTC
 * @param maxFiles rotated files kept; older ones are deleted after an {@code audit.pruned} line records
 *                 where the kept chain starts; 0: keep every file
 */
public record Rotation(long maxSize, boolean daily, int maxFiles) {

    /** One file that grows forever. */
    public static final Rotation NEVER = new Rotation(0, false, 0);

    public Rotation {
        if (maxSize < 0 || maxFiles < 0) {
            throw new IllegalArgumentException("rotation limits cannot be negative");
        }
    }
}
