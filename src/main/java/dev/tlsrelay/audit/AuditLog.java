package dev.tlsrelay.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tlsrelay.tls.CertificateFacts;
import dev.tlsrelay.tls.TlsNegotiation;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit log: one JSON object per line (JSON Lines), each carrying {@code seq} and {@code chain}
 * (see {@link Chain}), written with one {@code write} per line and kept apart from the operational log.
 *
 * <p>The chain runs on across restarts (the last line on disk is read back at open) and across
 * rotation (a rotated file is renamed, never rewritten). The relay records its own life in the chain:
 * {@code audit.started} at open, {@code audit.stopped} at a clean close, {@code audit.pruned} before it
 * deletes rotated files, so a verifier can tell a crash or a retention deletion from lines removed by
 * hand. One writer per file: a lock file keeps a second relay from interleaving a second chain.
 */
public final class AuditLog implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * How the log is written.
     *
     * @param chainKey     present: the chain is HMAC-SHA256 under it; empty: SHA-256
     * @param redactionKey present: sender and recipient addresses are written as keyed hashes
     * @param clock        the time of the relay's own lines and of daily rotation
     */
    public record Options(Rotation rotation, Optional<AuditKey> chainKey, Optional<AuditKey> redactionKey,
            Clock clock) {

        public static final Options DEFAULTS =
                new Options(Rotation.NEVER, Optional.empty(), Optional.empty(), Clock.systemUTC());
    }

    /**
     * Audit files open in this process. Checked before touching their lock files, because closing any
     * descriptor of a file drops this process's POSIX locks on it.
     */
    private static final Set<Path> OPEN_HERE = ConcurrentHashMap.newKeySet();

    /** Where the chain stands when a file is opened. */
    private record Resume(long seq, String chain, String previous, Optional<LocalDate> day, boolean damaged) {}

    private final Path file;
    private final Options options;
    private final Chain chain;
    private final Optional<AddressRedaction> redaction;
    private final AddressDisplay addressDisplay;
    private final FileChannel lockChannel;
    private final FileLock fileLock;
    private final List<Consumer<AuditEvent>> listeners = new CopyOnWriteArrayList<>();
    /** One line at a time: seq, chain and position must advance together. */
    private final ReentrantLock writing = new ReentrantLock();

    private FileChannel out;
    private long activeSize;
    private long activeFirstSeq;
    private Optional<LocalDate> activeDay;
    private long lastSeq;
    private String lastChain;
    private boolean closed;
    private boolean rotationBlocked;

    private AuditLog(Path file, Options options, FileChannel lockChannel, FileLock fileLock, Resume resume) {
        this.file = file;
        this.options = options;
        this.chain = new Chain(options.chainKey());
        this.redaction = options.redactionKey().map(AddressRedaction::new);
        this.addressDisplay = new AddressDisplay(redaction);
        this.lockChannel = lockChannel;
        this.fileLock = fileLock;
        this.lastSeq = resume.seq();
        this.lastChain = resume.chain();
        this.activeDay = resume.day();
    }

    /** Opens {@code file} with no rotation, a SHA-256 chain and addresses in clear. */
    public static AuditLog open(Path file) throws IOException {
        return open(file, Options.DEFAULTS);
    }

    /**
     * Opens (appending) the audit file, creating its directory, resumes the chain from the last line
     * on disk and writes an {@code audit.started} line.
     *
     * @throws IOException if the file cannot be written, another relay writes it, or its last line is
     *                     not an audit line (then the chain cannot be continued: verify it, move it aside)
     */
    public static AuditLog open(Path file, Options options) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (Files.exists(file) && !Files.isWritable(file)) {
            throw new IOException("audit file " + file + " is not writable");
        }
        if (!OPEN_HERE.add(key(file))) {
            throw new IOException("audit file " + file + " is already being written by another relay in this process:"
                    + " two writers would break the hash chain; give each relay its own audit.file");
        }
        try {
            return openLocked(file, options);
        } catch (IOException | RuntimeException e) {
            OPEN_HERE.remove(key(file));
            throw e;
        }
    }

    /** True when a relay in this process is writing {@code file}. */
    static boolean openHere(Path file) {
        return OPEN_HERE.contains(key(file));
    }

    private static Path key(Path file) {
        return file.toAbsolutePath().normalize();
    }

    private static AuditLog openLocked(Path file, Options options) throws IOException {
        Path lockPath = AuditFiles.lockFile(file);
        FileChannel lockChannel = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock fileLock;
        try {
            fileLock = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            fileLock = null;
        }
        if (fileLock == null) {
            lockChannel.close();
            throw new IOException("audit file " + file + " is already being written by another relay (it holds "
                    + lockPath + "): two writers would break the hash chain; give each relay its own audit.file");
        }
        AuditLog audit = null;
        try {
            Resume resume = resume(file);
            audit = new AuditLog(file, options, lockChannel, fileLock, resume);
            audit.openActive();
            ObjectNode started = lifecycle(options.clock().instant(), "audit.started");
            started.put("chain_alg", audit.chain.algorithm());
            options.chainKey().ifPresent(k -> started.put("key_id", k.id()));
            started.put("addresses", options.redactionKey().isPresent() ? "redacted" : "plain");
            options.redactionKey().ifPresent(k -> started.put("redaction_key_id", k.id()));
            started.put("previous", resume.previous());
            if (resume.damaged()) {
                started.put("damaged_tail", true);
                log.warn("audit file {} ended with an incomplete line (the relay stopped in the middle of writing"
                        + " it); the line is kept as found and the chain continues from the line before it", file);
            }
            if (resume.previous().equals("no-stop-record")) {
                log.warn("audit file {} does not end with the relay's stop record: the relay crashed or was killed,"
                        + " or lines were removed from its end; recorded in the audit", file);
            }
            audit.append(started);
            return audit;
        } catch (IOException | RuntimeException e) {
            if (audit != null && audit.out != null) {
                audit.out.close();
            }
            fileLock.release();
            lockChannel.close();
            throw e;
        }
    }

    public Path file() {
        return file;
    }

    /** How the operational log must show mail addresses: as this audit does, hashed exactly when it redacts. */
    public AddressDisplay addressDisplay() {
        return addressDisplay;
    }

    /** Writes one event as one line, then hands it to the listeners. */
    public void write(AuditEvent event) {
        ObjectNode line = switch (event) {
            case AuditEvent.Handshake h -> handshake(h);
            case AuditEvent.Message m -> message(m);
            case AuditEvent.Queued q -> queued(q);
            case AuditEvent.Deferred d -> deferred(d);
            case AuditEvent.Dead d -> dead(d);
            case AuditEvent.RouteThrottled t -> throttled(t);
        };
        append(line);
        listeners.forEach(l -> l.accept(event));
    }

    /** Also hands every event, after it is written, to {@code listener} (the demo prints them). */
    public void addListener(Consumer<AuditEvent> listener) {
        listeners.add(listener);
    }

    /** Writes {@code audit.stopped}, the mark of a clean stop, and releases the file. Idempotent. */
    @Override
    public void close() {
        writing.lock();
        try {
            if (closed) {
                return;
            }
            try {
                append(lifecycle(options.clock().instant(), "audit.stopped"));
            } catch (RuntimeException e) {
                log.error("could not write the audit stop record to {}: {}", file, e.getMessage());
            }
            closed = true;
            try {
                out.force(true);
                out.close();
            } catch (IOException e) {
                log.error("could not close audit file {}: {}", file, e.getMessage());
            }
            try {
                fileLock.release();
                lockChannel.close();
            } catch (IOException e) {
                log.warn("could not release {}: {}", AuditFiles.lockFile(file), e.getMessage());
            }
            OPEN_HERE.remove(key(file));
        } finally {
            writing.unlock();
        }
    }

    // ---- writing ---------------------------------------------------------------------------

    private void append(ObjectNode body) {
        writing.lock();
        try {
            if (closed) {
                // A session cut at shutdown can finish after the log closed: keep the event in the operational log.
                log.error("AUDIT NOT WRITTEN: {} is already closed; event: {}", file, body);
                return;
            }
            long seq = ++lastSeq; // spent even if the write fails, so the gap shows as a missing seq
            ObjectNode o = JSON.createObjectNode();
            o.put("seq", seq);
            o.setAll(body);
            String canonical = JSON.writeValueAsString(o);
            String link = chain.link(lastChain, canonical);
            o.put("chain", link);
            String line = JSON.writeValueAsString(o);
            // The verifier cuts the chain member off the text as written: make sure that gives back exactly
            // what was hashed.
            if (!Chain.split(line).equals(Optional.of(new Chain.Split(canonical, link)))) {
                throw new IllegalStateException("audit line does not end with its chain member: " + line);
            }
            byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
            Instant now = options.clock().instant();
            boolean rotated = rotateIfDue(bytes.length, now);
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                out.write(buf);
            }
            activeSize += bytes.length;
            if (activeFirstSeq == 0) {
                activeFirstSeq = seq;
            }
            activeDay = Optional.of(LocalDate.ofInstant(now, ZoneOffset.UTC));
            lastChain = link;
            if (rotated && options.rotation().maxFiles() > 0) {
                prune();
            }
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("audit event not serialisable", e);
        } catch (IOException e) {
            // Mail keeps flowing (the relay's promise is verified TLS); the event is kept in the operational log,
            // and the chain on disk shows the gap to anyone who verifies it.
            log.error("AUDIT NOT WRITTEN: {} cannot be written ({}); event: {}", file, e.getMessage(), body);
        } finally {
            writing.unlock();
        }
    }

    private void openActive() throws IOException {
        out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        if (AuditFiles.lastLine(file).map(t -> !t.terminated()).orElse(false)) {
            // End the cut-short line so the next line starts on its own; the verifier sees the damaged line
            // followed by audit.started with damaged_tail, which is how it tells a crash from an edit.
            out.write(ByteBuffer.wrap(new byte[] {'\n'}));
        }
        activeSize = out.size();
        activeFirstSeq = AuditFiles.firstLine(file).flatMap(AuditLog::seqOf).orElse(activeSize == 0 ? 0 : lastSeq);
    }

    private boolean rotateIfDue(int lineBytes, Instant now) throws IOException {
        Rotation r = options.rotation();
        if (activeSize == 0) {
            return false;
        }
        boolean bySize = r.maxSize() > 0 && activeSize + lineBytes > r.maxSize();
        boolean byDay = r.daily() && activeDay.isPresent()
                && !activeDay.get().equals(LocalDate.ofInstant(now, ZoneOffset.UTC));
        if (!bySize && !byDay) {
            return false;
        }
        Path target = AuditFiles.rotatedName(file, activeFirstSeq);
        if (Files.exists(target)) {
            // Never overwrite a piece of the log (rename would, silently): keep writing the active file instead.
            if (!rotationBlocked) {
                log.error("audit file {} cannot be rotated: {} already exists; move it away, the relay keeps writing"
                        + " {} meanwhile", file, target, file.getFileName());
                rotationBlocked = true;
            }
            return false;
        }
        out.force(true);
        out.close();
        try {
            Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            throw e;
        }
        rotationBlocked = false;
        log.info("audit file rotated: {} -> {}", file, target.getFileName());
        out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        activeSize = 0;
        activeFirstSeq = 0;
        return true;
    }

    /**
     * Deletes the oldest rotated files beyond {@code maxFiles}. First writes {@code audit.pruned} with
     * the sequence number and previous chain value of the first line kept, so a verifier can still check
     * that line's link and knows the gap before it is retention, not tampering.
     */
    private void prune() throws IOException {
        List<Path> rotated = AuditFiles.rotated(file);
        int excess = rotated.size() - options.rotation().maxFiles();
        if (excess <= 0) {
            return;
        }
        List<Path> doomed = rotated.subList(0, excess);
        Path firstKept = rotated.get(excess);
        Optional<Long> keptSeq = AuditFiles.firstLine(firstKept).flatMap(AuditLog::seqOf);
        Optional<String> prevChain = AuditFiles.lastChain(doomed.get(doomed.size() - 1));
        if (keptSeq.isEmpty() || prevChain.isEmpty()) {
            log.warn("audit retention: cannot read where {} starts or where {} ends; nothing deleted", firstKept,
                    doomed.get(doomed.size() - 1));
            return;
        }
        ObjectNode pruned = lifecycle(options.clock().instant(), "audit.pruned");
        ArrayNode files = pruned.putArray("files");
        doomed.forEach(p -> files.add(p.getFileName().toString()));
        pruned.put("first_kept_seq", keptSeq.get());
        pruned.put("first_kept_prev_chain", prevChain.get());
        append(pruned);
        for (Path p : doomed) {
            Files.deleteIfExists(p);
        }
        log.info("audit retention (audit.max-history = {}): deleted {}", options.rotation().maxFiles(),
                doomed.stream().map(p -> p.getFileName().toString()).toList());
    }

    // ---- resuming --------------------------------------------------------------------------

    /** Finds the last complete line of the log, in the active file or else in the newest rotated one. */
    private static Resume resume(Path file) throws IOException {
        List<Path> pieces = new ArrayList<>(AuditFiles.discover(file));
        boolean damaged = false;
        for (int i = pieces.size() - 1; i >= 0; i--) {
            Path piece = pieces.get(i);
            Optional<AuditFiles.Tail> tail = AuditFiles.lastLine(piece);
            if (tail.isEmpty()) {
                continue;
            }
            Optional<String> line = Optional.of(tail.get().line());
            if (!tail.get().terminated() && seqOf(tail.get().line()).isEmpty()) {
                // Cut short by a crash in the middle of a write: continue from the line before it.
                damaged = true;
                line = AuditFiles.lastCompleteLine(piece);
                if (line.isEmpty()) {
                    continue;
                }
            }
            Optional<Chain.Split> split = Chain.split(line.get());
            Optional<JsonNode> json = split.flatMap(s -> parse(s.canonical()));
            Optional<Long> seq = json.flatMap(j -> j.path("seq").canConvertToLong()
                    ? Optional.of(j.path("seq").asLong()) : Optional.empty());
            if (split.isEmpty() || seq.isEmpty()) {
                throw new IOException("audit file " + piece + " ends with a line that is not an audit line, so the"
                        + " hash chain cannot be continued: run  tlsrelay audit verify " + piece + "  and move the"
                        + " file aside (with its rotated files) before starting the relay");
            }
            String event = json.get().path("event").asText();
            Optional<LocalDate> day = piece.equals(file) ? timestamp(json.get()).map(
                    t -> LocalDate.ofInstant(t, ZoneOffset.UTC)) : Optional.empty();
            return new Resume(seq.get(), split.get().chain(),
                    event.equals("audit.stopped") ? "clean-stop" : "no-stop-record", day, damaged);
        }
        return new Resume(0, Chain.GENESIS, "none", Optional.empty(), damaged);
    }

    private static Optional<Long> seqOf(String line) {
        return Chain.split(line).flatMap(s -> parse(s.canonical()))
                .filter(j -> j.path("seq").canConvertToLong()).map(j -> j.path("seq").asLong());
    }

    private static Optional<JsonNode> parse(String json) {
        try {
            JsonNode n = JSON.readTree(json);
            return n != null && n.isObject() ? Optional.of(n) : Optional.empty();
        } catch (JsonProcessingException e) {
            return Optional.empty();
        }
    }

    private static Optional<Instant> timestamp(JsonNode n) {
        try {
            return Optional.of(Instant.parse(n.path("ts").asText()));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    // ---- the lines -------------------------------------------------------------------------

    private static ObjectNode lifecycle(Instant at, String event) {
        ObjectNode o = JSON.createObjectNode();
        o.put("ts", at.toString());
        o.put("event", event);
        return o;
    }

    private static ObjectNode handshake(AuditEvent.Handshake h) {
        TlsNegotiation n = h.negotiation();
        ObjectNode o = JSON.createObjectNode();
        o.put("ts", n.at().toString());
        o.put("event", "tls.handshake");
        o.put("direction", n.direction().name().toLowerCase(Locale.ROOT));
        o.put("session", h.session());
        o.put("peer_host", n.peerHost());
        o.put("peer_port", n.peerPort());
        o.put("mode", n.mode().configName());
        o.put("outcome", n.ok() ? "ok" : "failed");
        n.failure().ifPresent(f -> o.put("failure", f.auditName()));
        n.detail().ifPresent(d -> o.put("detail", d));
        n.protocol().ifPresent(p -> o.put("protocol", p));
        n.cipher().ifPresent(c -> o.put("cipher", c));
        n.leaf().ifPresent(c -> certificate(o, c));
        if (n.ok()) {
            o.put("resumed", n.resumed());
        }
        o.put("handshake_ms", n.handshake().toMillis());
        return o;
    }

    private static void certificate(ObjectNode o, CertificateFacts c) {
        o.put("cert_subject", c.subject());
        o.put("cert_issuer", c.issuer());
        ArrayNode san = o.putArray("cert_san");
        c.subjectAltNames().forEach(san::add);
        o.put("cert_serial", c.serial());
        o.put("cert_not_before", c.notBefore().toString());
        o.put("cert_not_after", c.notAfter().toString());
        o.put("cert_sha256", c.sha256());
        o.put("spki_sha256", c.spkiSha256());
    }

    private ObjectNode message(AuditEvent.Message m) {
        List<String> addresses = new ArrayList<>(m.recipients());
        addresses.add(m.mailFrom());
        ObjectNode o = JSON.createObjectNode();
        o.put("ts", m.at().toString());
        o.put("event", m.relayed() ? "message.relayed" : "message.failed");
        o.put("session", m.session());
        o.put("client", m.client());
        o.put("mail_from", address(m.mailFrom()));
        ArrayNode to = o.putArray("rcpt_to");
        m.recipients().forEach(r -> to.add(address(r)));
        o.put("rcpt_count", m.recipients().size());
        o.put("rcpt_accepted", m.rcptAccepted());
        o.put("size", m.size());
        m.replyCode().ifPresent(c -> o.put("reply_code", c));
        // Upstream replies and reasons quote addresses ("550 5.1.1 <bob@x>: unknown user"): scrub them too.
        m.upstreamReply().ifPresent(v -> o.put("upstream_reply", text(v, addresses)));
        m.failure().ifPresent(v -> o.put("failure", v));
        m.reason().ifPresent(v -> o.put("reason", text(v, addresses)));
        m.queueId().ifPresent(v -> o.put("queue_id", v));
        m.tlsSession().ifPresent(v -> o.put("tls_session", v));
        if (m.relayed()) {
            o.put("connection_reused", m.connectionReused());
        }
        m.upstreamTime().ifPresent(d -> o.put("upstream_ms", d.toMillis()));
        m.route().ifPresent(v -> o.put("route", v));
        m.authMechanism().ifPresent(v -> o.put("auth_mechanism", v));
        return o;
    }

    private ObjectNode throttled(AuditEvent.RouteThrottled t) {
        ObjectNode o = start(t, "route.throttled");
        o.put("route", t.route());
        o.put("kind", t.kind());
        o.put("upstream_reply", anyAddresses(t.reply()));
        o.put("until", t.until().toString());
        return o;
    }

    private ObjectNode queued(AuditEvent.Queued q) {
        ObjectNode o = start(q, "message.queued");
        o.put("queue_id", q.queueId());
        o.put("client", q.client());
        o.put("mail_from", address(q.mailFrom()));
        ArrayNode to = o.putArray("rcpt_to");
        q.recipients().forEach(r -> to.add(address(r)));
        o.put("rcpt_count", q.recipients().size());
        o.put("size", q.size());
        return o;
    }

    private ObjectNode deferred(AuditEvent.Deferred d) {
        ObjectNode o = start(d, "message.deferred");
        o.put("queue_id", d.queueId());
        o.put("attempt", d.attempt());
        o.put("next_attempt", d.nextAttempt().toString());
        o.put("reason", anyAddresses(d.reason()));
        d.failure().ifPresent(v -> o.put("failure", v));
        d.authMechanism().ifPresent(v -> o.put("auth_mechanism", v));
        return o;
    }

    private ObjectNode dead(AuditEvent.Dead d) {
        ObjectNode o = start(d, "message.dead");
        o.put("queue_id", d.queueId());
        o.put("attempts", d.attempts());
        o.put("reason", anyAddresses(d.reason()));
        o.put("rcpt_failed", d.rcptFailed());
        o.put("bounced", d.bounced());
        return o;
    }

    /** With redaction on: every address-like word of a free text, hashed (spool reasons name recipients). */
    private String anyAddresses(String text) {
        return addressDisplay.text(text);
    }

    private static ObjectNode start(AuditEvent e, String name) {
        ObjectNode o = lifecycle(e.at(), name);
        o.put("session", e.session());
        return o;
    }

    private String address(String a) {
        return addressDisplay.address(a);
    }

    private String text(String t, List<String> addresses) {
        return redaction.map(r -> r.scrub(t, addresses)).orElse(t);
    }
}
