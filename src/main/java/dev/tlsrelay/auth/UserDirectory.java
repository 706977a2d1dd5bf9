package dev.tlsrelay.auth;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The users file as the running relay sees it: read at start, and read again before a login when
 * the file has changed (size, modification time or inode), so {@code tlsrelay passwd} takes effect
 * without a restart. A changed file that is unreadable or has bad lines is reported once and the
 * previous users stay in force: a typo must not lock every device out, nor let anyone in.
 */
public final class UserDirectory {

    private static final Logger log = LoggerFactory.getLogger(UserDirectory.class);

    private final Path file;
    private volatile UsersFile current;
    private volatile Stamp stamp;

    /**
     * @throws IOException (a {@link UsersFile.UsersFileException} for bad lines) if the file cannot be used
     */
    public UserDirectory(Path file) throws IOException {
        this.file = file;
        this.stamp = Stamp.of(file);
        this.current = UsersFile.read(file);
    }

    public Path file() {
        return file;
    }

    /** The users in force right now (re-read first if the file changed). */
    public UsersFile users() {
        refreshIfChanged();
        return current;
    }

    /** See {@link UsersFile#verify}. */
    public boolean verify(String user, char[] password) {
        return users().verify(user, password);
    }

    private synchronized void refreshIfChanged() {
        Stamp now;
        try {
            now = Stamp.of(file);
        } catch (IOException e) {
            if (stamp != null) {
                log.error("cannot read the users file {} any more ({}); keeping the {} user(s) read before", file,
                        e.getMessage(), current.userNames().size());
            }
            stamp = null;
            return;
        }
        if (now.equals(stamp)) {
            return;
        }
        stamp = now;
        try {
            current = UsersFile.read(file);
            log.info("users file {} re-read: {} user(s)", file, current.userNames().size());
        } catch (IOException e) {
            log.error("the users file {} changed but cannot be used ({}); keeping the {} user(s) read before", file,
                    e.getMessage(), current.userNames().size());
        }
    }

    /** What identifies one version of the file without reading it. */
    private record Stamp(long size, FileTime modified, Object fileKey) {
        static Stamp of(Path file) throws IOException {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return new Stamp(a.size(), a.lastModifiedTime(), a.fileKey());
        }
    }
}
