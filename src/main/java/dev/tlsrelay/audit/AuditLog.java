package dev.tlsrelay.audit;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tlsrelay.tls.CertificateFacts;
import dev.tlsrelay.tls.TlsNegotiation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.LoggerFactory;

/**
 * The audit log: one JSON object per line (JSON Lines), written through its own Logback appender
 * and flushed per event, kept apart from the human-readable operational log.
 */
public final class AuditLog implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final Path file;
    private final List<Consumer<AuditEvent>> listeners = new CopyOnWriteArrayList<>();
    private final Logger logger;
    private final FileAppender<ILoggingEvent> appender;

    private AuditLog(Path file, Logger logger, FileAppender<ILoggingEvent> appender) {
        this.file = file;
        this.logger = logger;
        this.appender = appender;
    }

    /**
     * Opens (appending) the audit file, creating its directory.
     *
     * @throws IOException if the file cannot be created or written
     */
    public static AuditLog open(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (Files.exists(file) && !Files.isWritable(file)) {
            throw new IOException("audit file " + file + " is not writable");
        }
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(ctx);
        encoder.setPattern("%msg%n");
        encoder.start();
        FileAppender<ILoggingEvent> appender = new FileAppender<>();
        appender.setContext(ctx);
        appender.setName("audit-" + INSTANCES.incrementAndGet());
        appender.setFile(file.toString());
        appender.setAppend(true);
        appender.setImmediateFlush(true);
        appender.setEncoder(encoder);
        appender.start();
        if (!appender.isStarted()) {
            throw new IOException("cannot open audit file " + file);
        }
        // A logger per audit file: tests and the demo may run several relays in one process.
        Logger logger = ctx.getLogger("tlsrelay.audit." + appender.getName());
        logger.setAdditive(false);
        logger.setLevel(ch.qos.logback.classic.Level.INFO);
        logger.addAppender(appender);
        return new AuditLog(file, logger, appender);
    }

    public Path file() {
        return file;
    }

    /** Writes one event as one line. */
    public void write(AuditEvent event) {
        ObjectNode line = switch (event) {
            case AuditEvent.Handshake h -> handshake(h);
            case AuditEvent.Message m -> message(m);
            case AuditEvent.Queued q -> queued(q);
            case AuditEvent.Deferred d -> deferred(d);
            case AuditEvent.Dead d -> dead(d);
        };
        try {
            logger.info(JSON.writeValueAsString(line));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("audit event not serialisable", e);
        }
        listeners.forEach(l -> l.accept(event));
    }

    /** Also hands every event, after it is written, to {@code listener} (the demo prints them). */
    public void addListener(Consumer<AuditEvent> listener) {
        listeners.add(listener);
    }

    private static ObjectNode handshake(AuditEvent.Handshake h) {
        TlsNegotiation n = h.negotiation();
        ObjectNode o = JSON.createObjectNode();
        o.put("ts", n.at().toString());
        o.put("event", "tls.handshake");
        o.put("direction", n.direction().name().toLowerCase(java.util.Locale.ROOT));
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
        o.put("cert_not_after", c.notAfter().toString());
        o.put("cert_sha256", c.sha256());
        o.put("spki_sha256", c.spkiSha256());
    }

    private static ObjectNode message(AuditEvent.Message m) {
        ObjectNode o = JSON.createObjectNode();
        o.put("ts", m.at().toString());
        o.put("event", m.relayed() ? "message.relayed" : "message.failed");
        o.put("session", m.session());
        o.put("client", m.client());
        o.put("mail_from", m.mailFrom());
        o.put("rcpt_count", m.rcptCount());
        o.put("rcpt_accepted", m.rcptAccepted());
        o.put("size", m.size());
        putIfPresent(o, "upstream_reply", m.upstreamReply());
        putIfPresent(o, "failure", m.failure());
        putIfPresent(o, "reason", m.reason());
        putIfPresent(o, "queue_id", m.queueId());
        if (m.relayed()) {
            o.put("connection_reused", m.connectionReused());
        }
        m.upstreamTime().ifPresent(d -> o.put("upstream_ms", d.toMillis()));
        return o;
    }

    private static ObjectNode queued(AuditEvent.Queued q) {
        ObjectNode o = start(q, "message.queued");
        o.put("queue_id", q.queueId());
        o.put("client", q.client());
        o.put("mail_from", q.mailFrom());
        o.put("rcpt_count", q.rcptCount());
        o.put("size", q.size());
        return o;
    }

    private static ObjectNode deferred(AuditEvent.Deferred d) {
        ObjectNode o = start(d, "message.deferred");
        o.put("queue_id", d.queueId());
        o.put("attempt", d.attempt());
        o.put("next_attempt", d.nextAttempt().toString());
        o.put("reason", d.reason());
        putIfPresent(o, "failure", d.failure());
        return o;
    }

    private static ObjectNode dead(AuditEvent.Dead d) {
        ObjectNode o = start(d, "message.dead");
        o.put("queue_id", d.queueId());
        o.put("attempts", d.attempts());
        o.put("reason", d.reason());
        o.put("rcpt_failed", d.rcptFailed());
        o.put("bounced", d.bounced());
        return o;
    }

    private static ObjectNode start(AuditEvent e, String name) {
        ObjectNode o = JSON.createObjectNode();
        o.put("ts", e.at().toString());
        o.put("event", name);
        o.put("session", e.session());
        return o;
    }

    private static void putIfPresent(ObjectNode o, String field, Optional<String> value) {
        value.ifPresent(v -> o.put(field, v));
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
    }
}
