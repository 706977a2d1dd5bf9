package dev.tlsrelay.spool;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable queue on disk. A message is two files in {@code queue/}: {@code ID.eml}, the bytes to
 * send (never changed once written), and {@code ID.json}, envelope and delivery state (replaced
 * atomically). Both are written under {@code tmp/}, fsynced, and renamed into place, {@code .eml}
 * first; the rename of {@code ID.json} followed by an fsync of the directory is the commit point,
 * and only then does the client get its 250. A crash before it leaves an {@code .eml} without
 * {@code .json}, which {@link #open} removes: never half a message, never one the client was not
 * told about.
 *
 * <p>One running relay owns a spool (a lock on {@code spool.lock}); the {@code queue} command
 * works on an owned spool by leaving requests in {@code requests/}, which the owner acts on.
 */
public final class Spool implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Spool.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final Path queue;
    private final Path dead;
    private final Path tmp;
    private final Path requests;
    private final Optional<FileChannel> lockChannel;
    private final Optional<FileLock> lock;
    /**
     * Queued messages, when this process owns the spool: counted once at open, then kept by commit,
     * remove and bury (the only ways a message enters or leaves {@code queue/}). Back-pressure asks
     * for it twice per message; counting the files each time cost 12 ms of CPU per call with 10,000
     * messages queued, which made intake slowest exactly when a burst had built a backlog.
     */
    private final AtomicInteger queued = new AtomicInteger();

    private Spool(Path dir, Optional<FileChannel> lockChannel, Optional<FileLock> lock) {
        this.dir = dir;
        this.queue = dir.resolve("queue");
        this.dead = dir.resolve("dead");
        this.tmp = dir.resolve("tmp");
        this.requests = dir.resolve("requests");
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Opens a spool for delivery, creating it if needed, and takes ownership of it.
     *
     * @throws SpoolInUseException if another process owns it
     */
    public static Spool open(Path dir) throws IOException {
        Optional<Spool> s = tryOpen(dir);
        if (s.isEmpty()) {
            throw new SpoolInUseException(dir);
        }
        return s.get();
    }

    /** Opens and owns the spool if no other process does; empty if one does. */
    public static Optional<Spool> tryOpen(Path dir) throws IOException {
        for (String sub : new String[] {"queue", "dead", "tmp", "requests"}) {
            Files.createDirectories(dir.resolve(sub));
        }
        FileChannel ch = FileChannel.open(dir.resolve("spool.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null; // owned by this very process (another relay in the same JVM)
        }
        if (l == null) {
            ch.close();
            return Optional.empty();
        }
        Spool s = new Spool(dir, Optional.of(ch), Optional.of(l));
        s.recover();
        return Optional.of(s);
    }

    /** Read access plus requests, for a spool another process may own. Nothing is changed directly. */
    public static Spool inspect(Path dir) throws IOException {
        if (!Files.isDirectory(dir.resolve("queue"))) {
            throw new NoSuchFileException(dir + " is not a tlsrelay spool (no queue/ in it); check spool.dir");
        }
        return new Spool(dir, Optional.empty(), Optional.empty());
    }

    public Path dir() {
        return dir;
    }

    /** Whether this process owns the spool (may change it directly). */
    public boolean owned() {
        return lock.isPresent();
    }

    /** Removes what a crash left behind: partial files, bodies that were never committed. */
    private void recover() throws IOException {
        try (Stream<Path> files = Files.list(tmp)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        try (Stream<Path> files = Files.list(queue)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".eml")).toList()) {
                String id = idOf(p);
                if (!Files.exists(queue.resolve(id + ".json"))) {
                    log.info("removing {}: its submission never completed (the client was not told 250)", p);
                    Files.deleteIfExists(p);
                }
            }
        }
        fsyncDirectory(queue);
        queued.set(countQueued());
    }

    /** Starts writing a new message. */
    public Writer begin() throws IOException {
        requireOwned();
        String id = newId();
        return new Writer(id, tmp.resolve(id + ".eml"));
    }

    /** A message being received: body first, then {@link #commit}. */
    public final class Writer implements AutoCloseable {
        private final String id;
        private final Path bodyFile;
        private final FileChannel channel;
        private final OutputStream out;
        private long size;
        private boolean done;

        private Writer(String id, Path bodyFile) throws IOException {
            this.id = id;
            this.bodyFile = bodyFile;
            this.channel = FileChannel.open(bodyFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            this.out = Channels.newOutputStream(channel);
        }

        public String id() {
            return id;
        }

        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            size += len;
        }

        public long size() {
            return size;
        }

        /**
         * Makes the message durable: fsyncs the body, writes the envelope, renames both into the
         * queue and fsyncs the directory. When this returns, the message survives a crash.
         */
        public QueuedMessage commit(String sessionId, String client, String sender, List<String> recipients,
                Instant receivedAt) throws IOException {
            channel.force(true);
            channel.close();
            QueuedMessage m = new QueuedMessage(id, sessionId, client, sender,
                    recipients.stream().map(QueuedMessage.Recipient::pending).toList(), receivedAt, size, 0,
                    receivedAt, Optional.empty(), Optional.empty());
            Files.move(bodyFile, queue.resolve(id + ".eml"), StandardCopyOption.ATOMIC_MOVE);
            writeAtomically(queue.resolve(id + ".json"), SpoolFormat.write(m, Optional.empty()));
            queued.incrementAndGet();
            done = true;
            return m;
        }

        /** Discards the message (too big, client gone, refused). */
        public void abort() {
            if (!done) {
                done = true;
                try {
                    channel.close();
                    Files.deleteIfExists(bodyFile);
                } catch (IOException e) {
                    log.warn("cannot remove partial spool file {}: {}", bodyFile, e.getMessage());
                }
            }
        }

        @Override
        public void close() {
            abort();
        }
    }

    /** Every queued message, oldest first. Unreadable entries are logged and skipped. */
    public List<QueuedMessage> list() throws IOException {
        List<QueuedMessage> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(queue, "*.json")) {
            for (Path p : files) {
                try {
                    out.add(SpoolFormat.read(Files.readAllBytes(p)));
                } catch (NoSuchFileException e) {
                    // Delivered or deleted while listing.
                } catch (IOException | RuntimeException e) {
                    log.warn("skipping unreadable spool entry {}: {}", p, e.getMessage());
                }
            }
        }
        out.sort((a, b) -> a.id().compareTo(b.id()));
        return out;
    }

    /**
     * Number of queued messages: a counter in the owning process, a count of the files for a spool
     * another process owns.
     */
    public int size() throws IOException {
        return owned() ? queued.get() : countQueued();
    }

    private int countQueued() throws IOException {
        int n = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(queue, "*.json")) {
            for (Path ignored : files) {
                n++;
            }
        }
        return n;
    }

    /** Usable bytes left on the spool's file system. */
    public long freeSpace() throws IOException {
        FileStore store = Files.getFileStore(queue);
        return store.getUsableSpace();
    }

    public Optional<QueuedMessage> load(String id) throws IOException {
        checkId(id);
        try {
            return Optional.of(SpoolFormat.read(Files.readAllBytes(queue.resolve(id + ".json"))));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** The stored bytes of a queued message. */
    public InputStream openBody(String id) throws IOException {
        checkId(id);
        return Files.newInputStream(queue.resolve(id + ".eml"));
    }

    /** The stored bytes of a dead letter. */
    public InputStream openDeadBody(String id) throws IOException {
        checkId(id);
        return Files.newInputStream(dead.resolve(id + ".eml"));
    }

    /** Stores a new state of a message atomically. */
    public void update(QueuedMessage m) throws IOException {
        requireOwned();
        writeAtomically(queue.resolve(m.id() + ".json"), SpoolFormat.write(m, Optional.empty()));
    }

    /** Removes a message that needs no more delivery. The state file goes first: that is the commit. */
    public void remove(String id) throws IOException {
        requireOwned();
        checkId(id);
        if (Files.deleteIfExists(queue.resolve(id + ".json"))) {
            queued.decrementAndGet();
        }
        fsyncDirectory(queue);
        Files.deleteIfExists(queue.resolve(id + ".eml"));
    }

    /** Moves a message to {@code dead/} with the reason, for a person to look at. */
    public void bury(QueuedMessage m, String reason) throws IOException {
        requireOwned();
        Files.move(queue.resolve(m.id() + ".eml"), dead.resolve(m.id() + ".eml"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        writeAtomically(dead.resolve(m.id() + ".json"), SpoolFormat.write(m, Optional.of(reason)));
        if (Files.deleteIfExists(queue.resolve(m.id() + ".json"))) {
            queued.decrementAndGet();
        }
        fsyncDirectory(queue);
    }

    /** Dead letters, oldest first, with their reasons. */
    public List<DeadLetter> deadLetters() throws IOException {
        List<DeadLetter> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dead, "*.json")) {
            for (Path p : files) {
                byte[] b = Files.readAllBytes(p);
                out.add(new DeadLetter(SpoolFormat.read(b), SpoolFormat.deadReason(b).orElse("")));
            }
        }
        out.sort((a, b) -> a.message().id().compareTo(b.message().id()));
        return out;
    }

    /** A message the relay gave up on, and why. */
    public record DeadLetter(QueuedMessage message, String reason) {}

    // ---- requests from the queue command ---------------------------------------------------

    /** What the queue command can ask of the owning relay. */
    public enum RequestKind {
        RETRY,
        DELETE
    }

    /** A request: {@code id} empty means every queued message. */
    public record Request(RequestKind kind, Optional<String> id) {}

    /**
     * Leaves a request for the owning relay (used when another process owns the spool).
     *
     * @return the request file; the owner deletes it once it has acted
     */
    public Path submit(Request r) throws IOException {
        r.id().ifPresent(Spool::checkId);
        String name = r.kind().name().toLowerCase(java.util.Locale.ROOT) + "-" + r.id().orElse("all");
        Path target = requests.resolve(name);
        Path part = requests.resolve("." + name + ".part");
        Files.write(part, new byte[0]);
        Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }

    /** Takes the pending requests (the owner calls this). */
    public List<Request> takeRequests() throws IOException {
        requireOwned();
        List<Request> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(requests, "[a-z]*")) {
            for (Path p : files) {
                String name = p.getFileName().toString();
                int dash = name.indexOf('-');
                if (dash > 0) {
                    try {
                        RequestKind kind = RequestKind.valueOf(name.substring(0, dash).toUpperCase(java.util.Locale.ROOT));
                        String id = name.substring(dash + 1);
                        out.add(new Request(kind, id.equals("all") ? Optional.empty() : Optional.of(id)));
                    } catch (IllegalArgumentException e) {
                        log.warn("ignoring unknown spool request {}", p);
                    }
                }
                Files.deleteIfExists(p);
            }
        }
        return out;
    }

    // ---- helpers --------------------------------------------------------------------------

    private void writeAtomically(Path target, byte[] content) throws IOException {
        Path part = tmp.resolve(target.getFileName() + "." + newId() + ".part");
        try (FileChannel ch = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(content));
            ch.force(true);
        }
        Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDirectory(target.getParent());
    }

    private static void fsyncDirectory(Path d) throws IOException {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Sortable by arrival (milliseconds), unique by 48 random bits. */
    private static String newId() {
        byte[] r = new byte[6];
        RANDOM.nextBytes(r);
        return String.format("%013d-%s", System.currentTimeMillis(), HexFormat.of().formatHex(r));
    }

    /** Ids come from users of the queue command too: never let one name a path. */
    static void checkId(String id) {
        if (!id.matches("[0-9]{13}-[0-9a-f]{12}")) {
            throw new IllegalArgumentException("not a spool id: " + id + " (ids look like 1763928000000-a1b2c3d4e5f6)");
        }
    }

    private static String idOf(Path p) {
        String n = p.getFileName().toString();
        return n.substring(0, n.lastIndexOf('.'));
    }

    private void requireOwned() {
        if (lock.isEmpty()) {
            throw new IllegalStateException("spool " + dir + " is owned by another process");
        }
    }

    @Override
    public void close() throws IOException {
        if (lock.isPresent()) {
            lock.get().release();
        }
        if (lockChannel.isPresent()) {
            lockChannel.get().close();
        }
    }
}
