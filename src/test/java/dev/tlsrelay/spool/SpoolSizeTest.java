package dev.tlsrelay.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Spool#size()} (asked twice per message for back-pressure) is kept as a counter by the
 * owning process instead of counting files on every call, and stays equal to what is on disk.
 */
class SpoolSizeTest {

    @TempDir
    Path dir;

    private static QueuedMessage commit(Spool s) throws Exception {
        try (Spool.Writer w = s.begin()) {
            byte[] body = "Subject: x\r\n\r\nbody\r\n".getBytes();
            w.write(body, 0, body.length);
            return w.commit("SESSION", "127.0.0.1", "a@corp.test", List.of("b@corp.test"), Instant.now());
        }
    }

    /** What another process sees: the files themselves. */
    private int onDisk() throws Exception {
        return Spool.inspect(dir).size();
    }

    @Test
    void followsCommitRemoveAndBury() throws Exception {
        try (Spool s = Spool.open(dir)) {
            assertEquals(0, s.size());
            QueuedMessage a = commit(s);
            QueuedMessage b = commit(s);
            QueuedMessage c = commit(s);
            assertEquals(3, s.size());
            assertEquals(3, onDisk());

            try (Spool.Writer aborted = s.begin()) {
                aborted.write(new byte[] {'x'}, 0, 1);
                aborted.abort();
            }
            assertEquals(3, s.size(), "an aborted submission is not queued");

            s.remove(a.id());
            assertEquals(2, s.size());
            s.remove(a.id());
            assertEquals(2, s.size(), "removing a message twice counts once");

            s.bury(b, "test");
            assertEquals(1, s.size());
            assertEquals(1, onDisk());
            s.remove(c.id());
            assertEquals(0, s.size());
            assertEquals(0, onDisk());
        }
    }

    @Test
    void countedAgainAtOpenWithoutHalfWrittenMessages() throws Exception {
        try (Spool s = Spool.open(dir)) {
            commit(s);
            commit(s);
        }
        // A body whose envelope was never written (a crash mid-submission) is not a queued message.
        Files.write(dir.resolve("queue").resolve("1763928000000-a1b2c3d4e5f6.eml"), new byte[] {'x'});
        try (Spool s = Spool.open(dir)) {
            assertEquals(2, s.size());
            commit(s);
            assertEquals(3, s.size());
            assertEquals(3, onDisk());
        }
    }
}
