package dev.tlsrelay.oauth;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The file holding a refresh token: its first line. Written whole or not at all (a temporary file
 * in the same directory, created with mode 0600, fsynced, then renamed over the old one, and the
 * directory fsynced), so a crash or a full disk never leaves a half-written token, and nobody else
 * on the machine can ever read it, not even for a moment.
 */
public final class RefreshTokenFile {

    /** Longer than any provider's refresh token; a bound on what is read. */
    static final int MAX_BYTES = 16 * 1024;

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final ConcurrentHashMap<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private RefreshTokenFile() {}

    /**
     * What identifies one version of the file: a changed stamp means someone wrote a new token (each
     * write renames a new file into place, so the file key, the inode, changes too).
     */
    record Stamp(Object fileKey, FileTime modified, long size) {}

    /**
     * The lock of one file in this process: reading, refreshing and writing back happen under it,
     * so that two users of the file (a relay and its reloaded successor) never spend the same
     * refresh token twice or overwrite each other's rotation.
     */
    static ReentrantLock lock(Path file) {
        return LOCKS.computeIfAbsent(file.toAbsolutePath().normalize(), p -> new ReentrantLock());
    }

    /**
     * The refresh token.
     *
     * @throws IOException if the file cannot be read, is empty, or is not one printable word
     */
    public static String read(Path file) throws IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        }
        if (bytes.length > MAX_BYTES) {
            throw new IOException(file + " is larger than " + MAX_BYTES + " bytes: not a refresh token file");
        }
        String text = new String(bytes, StandardCharsets.US_ASCII);
        int end = text.indexOf('\n');
        String first = (end < 0 ? text : text.substring(0, end)).strip();
        if (!AccessToken.isPrintableWord(first)) {
            throw new IOException(file + " does not hold a refresh token on its first line");
        }
        return first;
    }

    static Stamp stamp(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return new Stamp(a.fileKey(), a.lastModifiedTime(), a.size());
        } catch (IOException e) {
            return new Stamp(null, FileTime.fromMillis(0), -1);
        }
    }

    /**
     * Replaces the file's content with {@code token}, atomically, mode 0600. Creates the directory
     * (mode 0700) if it is missing.
     *
     * @throws IOException if it cannot be written; the old file is then unchanged
     */
    public static void write(Path file, String token) throws IOException {
        if (!AccessToken.isPrintableWord(token) || token.length() > MAX_BYTES - 1) {
            throw new IllegalArgumentException("a refresh token is one printable word");
        }
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        boolean posix = Files.getFileStore(existingAncestor(dir)).supportsFileAttributeView("posix");
        if (!Files.isDirectory(dir)) {
            if (posix) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectories(dir);
            }
        }
        Path tmp = null;
        try {
            for (int i = 0; tmp == null; i++) {
                Path candidate = dir.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "."
                        + Long.toHexString(System.nanoTime()) + ".tmp");
                try {
                    tmp = posix ? Files.createFile(candidate, PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                            : Files.createFile(candidate);
                } catch (FileAlreadyExistsException e) {
                    if (i > 10) {
                        throw e;
                    }
                }
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap((token + "\n").getBytes(StandardCharsets.US_ASCII));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + target + " atomically: " + e.getMessage(), e);
            }
            tmp = null;
            syncDirectory(dir);
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private static Path existingAncestor(Path dir) {
        Path p = dir;
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        return p == null ? Path.of(".").toAbsolutePath() : p;
    }

    /** Makes the rename itself durable. Some platforms cannot open a directory; there it is skipped. */
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // The file itself was forced; only the rename's durability across a power cut is at stake.
        }
    }
}
