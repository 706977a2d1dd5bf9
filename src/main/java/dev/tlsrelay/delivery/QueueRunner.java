package dev.tlsrelay.delivery;

import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.spool.QueuedMessage;
import dev.tlsrelay.spool.QueuedMessage.Recipient;
import dev.tlsrelay.spool.QueuedMessage.State;
import dev.tlsrelay.spool.Spool;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.upstream.SmtpReply;
import dev.tlsrelay.upstream.UpstreamClient;
import dev.tlsrelay.upstream.UpstreamConnection;
import dev.tlsrelay.upstream.UpstreamException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers the spool: every due message gets an attempt on a virtual thread (at most
 * {@code spool.workers} at once) through the same verified-TLS upstream path as pass-through.
 * Recipients the upstream accepted are never retried; temporary failures wait with exponential
 * backoff and jitter; a 5xx or {@code spool.max-age} ends in {@code dead/} (and a bounce, if enabled).
 * Delivery is at-least-once: a crash after the upstream took a message but before the spool
 * recorded it delivers that message again on restart.
 */
public final class QueueRunner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(QueueRunner.class);
    private static final Duration TICK = Duration.ofSeconds(1);

    private final Spool spool;
    private volatile UpstreamClient upstream;
    private final AuditLog audit;
    private final RelayConfig.Spool config;
    private final String relayHostname;
    private final Map<String, QueuedMessage> index = new ConcurrentHashMap<>();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final Semaphore workers;
    private final Object signal = new Object();
    private volatile boolean running;
    private volatile boolean wakeUp;
    private Thread scheduler;

    public QueueRunner(Spool spool, UpstreamClient upstream, AuditLog audit, RelayConfig.Spool config,
            String relayHostname) {
        this.spool = spool;
        this.upstream = upstream;
        this.audit = audit;
        this.config = config;
        this.relayHostname = relayHostname;
        this.workers = new Semaphore(config.workers());
    }

    /** Loads what is already queued and starts delivering. */
    public void start() throws IOException {
        List<QueuedMessage> existing = spool.list();
        existing.forEach(m -> index.put(m.id(), m));
        if (!existing.isEmpty()) {
            log.info("{} message(s) already in the spool {}; delivering them", existing.size(), spool.dir());
        }
        running = true;
        scheduler = Thread.ofVirtual().name("tlsrelay-spool").start(this::loop);
    }

    /** Delivers with this client from the next attempt on (reload); attempts running finish as they began. */
    public void useUpstream(UpstreamClient client) {
        this.upstream = client;
    }

    /** A newly committed message: try it now. */
    public void enqueue(QueuedMessage m) {
        index.put(m.id(), m);
        wake();
    }

    /** Messages known to be queued (for tests and status). */
    public int queued() {
        return index.size();
    }

    /** How long the oldest queued message has waited; zero when the queue is empty. */
    public Duration oldestAge() {
        Instant now = Instant.now();
        return index.values().stream().map(m -> m.age(now)).max(Comparator.naturalOrder()).orElse(Duration.ZERO);
    }

    private void wake() {
        synchronized (signal) {
            wakeUp = true;
            signal.notifyAll();
        }
    }

    private void loop() {
        while (running) {
            try {
                handleRequests();
                dispatchDue();
            } catch (IOException | RuntimeException e) {
                log.error("spool scheduler: {}", e.toString());
            }
            synchronized (signal) {
                if (!wakeUp && running) {
                    try {
                        signal.wait(TICK.toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                wakeUp = false;
            }
        }
    }

    private void dispatchDue() {
        Instant now = Instant.now();
        List<QueuedMessage> due = index.values().stream()
                .filter(m -> !m.nextAttempt().isAfter(now) && !inFlight.contains(m.id()))
                .sorted(Comparator.comparing(QueuedMessage::nextAttempt))
                .toList();
        for (QueuedMessage m : due) {
            if (!running || !workers.tryAcquire()) {
                return;
            }
            inFlight.add(m.id());
            Thread.ofVirtual().name("tlsrelay-deliver-" + m.id()).start(() -> {
                try {
                    deliver(m.id());
                } catch (IOException | RuntimeException e) {
                    log.error("[{}] delivery of {} stopped by a local error (it stays queued): {}", m.sessionId(),
                            m.id(), e.toString());
                } finally {
                    inFlight.remove(m.id());
                    workers.release();
                    wake();
                }
            });
        }
    }

    /** Acts on what the queue command asked for while this relay owns the spool. */
    private void handleRequests() throws IOException {
        for (Spool.Request r : spool.takeRequests()) {
            List<String> ids = r.id().map(List::of).orElseGet(() -> List.copyOf(index.keySet()));
            for (String id : ids) {
                switch (r.kind()) {
                    case RETRY -> retryNow(id);
                    case DELETE -> delete(id);
                }
            }
        }
    }

    /** Makes a message due now (queue retry). */
    public boolean retryNow(String id) throws IOException {
        Optional<QueuedMessage> m = spool.load(id);
        if (m.isEmpty()) {
            return false;
        }
        QueuedMessage due = m.get().dueNow(Instant.now());
        spool.update(due);
        index.put(id, due);
        wake();
        return true;
    }

    /** Removes a message without delivering it (queue delete). */
    public boolean delete(String id) throws IOException {
        if (inFlight.contains(id)) {
            log.warn("{} is being delivered right now; delete it again after this attempt", id);
            return false;
        }
        boolean existed = spool.load(id).isPresent();
        spool.remove(id);
        index.remove(id);
        if (existed) {
            log.info("deleted {} from the spool on request", id);
        }
        return existed;
    }

    // ---- one delivery attempt ----------------------------------------------------------

    private void deliver(String id) throws IOException {
        Optional<QueuedMessage> loaded = spool.load(id);
        if (loaded.isEmpty()) {
            index.remove(id);
            return;
        }
        QueuedMessage m = loaded.get();
        long started = System.nanoTime();
        Attempt a = attempt(m);
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        Instant now = Instant.now();
        if (a.accepted > 0) {
            audit.write(new AuditEvent.Message(now, m.sessionId(), m.clientAddress(), m.sender(),
                    m.recipients().stream().map(Recipient::address).toList(), a.accepted, m.size(), true,
                    java.util.OptionalInt.empty(), a.finalReply, Optional.empty(), Optional.empty(),
                    Optional.of(m.id()), a.tlsSession, a.connectionReused, Optional.of(took), a.authMechanism));
            log.info("[{}] relayed {} to {} recipient(s): {}", m.sessionId(), m.id(), a.accepted,
                    a.finalReply.orElse(""));
        }
        List<Recipient> rcpts = a.recipients;
        boolean pending = rcpts.stream().anyMatch(r -> r.state() == State.PENDING);
        if (pending && m.age(now).compareTo(config.maxAge()) >= 0) {
            String why = "expired: not delivered within spool.max-age (" + config.maxAge() + "), last error: "
                    + a.error.orElse("none");
            rcpts = rcpts.stream().map(r -> r.state() == State.PENDING
                    ? new Recipient(r.address(), State.FAILED, Optional.of("4.4.7 " + why)) : r).toList();
            pending = false;
        }
        if (!pending) {
            finish(m.afterAttempt(rcpts, now, a.error, a.failure.map(FailureCode::auditName)), a.error);
            return;
        }
        Instant next = now.plus(backoff(m.attempts() + 1));
        QueuedMessage deferred = m.afterAttempt(rcpts, next, a.error, a.failure.map(FailureCode::auditName));
        spool.update(deferred);
        index.put(id, deferred);
        audit.write(new AuditEvent.Deferred(now, m.sessionId(), m.id(), deferred.attempts(), next,
                a.error.orElse("temporary failure"), a.failure.map(FailureCode::auditName), a.authMechanism));
        log.warn("[{}] deferred {} (attempt {}): {}; next attempt {}", m.sessionId(), m.id(), deferred.attempts(),
                a.error.orElse("temporary failure"), next);
    }

    /** No recipient left to try: remove the message, or bury it if some recipients failed. */
    private void finish(QueuedMessage m, Optional<String> error) throws IOException {
        List<Recipient> failed = m.failedRecipients();
        if (failed.isEmpty()) {
            spool.remove(m.id());
            index.remove(m.id());
            return;
        }
        String reason = failed.stream().map(r -> "<" + r.address() + ">: " + r.reply().orElse(error.orElse("failed")))
                .reduce((x, y) -> x + "; " + y).orElse("failed");
        boolean bounce = config.bounce() && !m.sender().isEmpty();
        spool.bury(m, reason);
        index.remove(m.id());
        if (bounce) {
            bounce(m, failed);
        }
        audit.write(new AuditEvent.Dead(Instant.now(), m.sessionId(), m.id(), m.attempts(), reason, failed.size(),
                bounce));
        log.warn("[{}] gave up on {} after {} attempt(s), moved to {}/dead: {}", m.sessionId(), m.id(), m.attempts(),
                spool.dir(), reason);
    }

    private void bounce(QueuedMessage m, List<Recipient> failed) {
        try (Spool.Writer w = spool.begin()) {
            byte[] dsn;
            try (InputStream original = spool.openDeadBody(m.id())) {
                dsn = DeliveryStatusNotification.build(m, failed, relayHostname, original);
            }
            w.write(dsn, 0, dsn.length);
            QueuedMessage b = w.commit(m.sessionId(), "127.0.0.1", "", List.of(m.sender()), Instant.now());
            audit.write(new AuditEvent.Queued(Instant.now(), m.sessionId(), b.id(), "tlsrelay", "",
                    List.of(m.sender()), b.size()));
            enqueue(b);
        } catch (IOException e) {
            log.error("[{}] cannot queue the bounce for {}: {}", m.sessionId(), m.id(), e.getMessage());
        }
    }

    /** Exponential backoff with jitter: initial, 2x, 4x, ... capped at max-interval, each ±20%. */
    Duration backoff(int attempt) {
        double base = config.retryInitial().toMillis() * Math.pow(2, Math.min(attempt - 1, 30));
        double capped = Math.min(base, config.retryMaxInterval().toMillis());
        double jitter = 0.8 + 0.4 * ThreadLocalRandom.current().nextDouble();
        return Duration.ofMillis(Math.max(1, (long) (capped * jitter)));
    }

    /** What one attempt did to each recipient. */
    private record Attempt(List<Recipient> recipients, int accepted, Optional<String> finalReply,
            Optional<String> error, Optional<FailureCode> failure, boolean connectionReused,
            Optional<String> tlsSession, Optional<String> authMechanism) {}

    private Attempt attempt(QueuedMessage m) {
        List<Recipient> rcpts = new ArrayList<>(m.recipients());
        List<Integer> accepted = new ArrayList<>();
        boolean reused = false;
        Optional<String> tlsSession = Optional.empty();
        Optional<String> auth = Optional.empty();
        try (UpstreamConnection c = upstream.open(m.sessionId())) {
            auth = c.authMechanism();
            reused = c.reused();
            tlsSession = reused ? Optional.of(c.negotiatedBy()) : Optional.empty();
            SmtpReply mail = c.mailFrom(m.sender(), m.size(), !isAscii(m));
            if (!mail.isPositive()) {
                applyToPending(rcpts, mail);
                return new Attempt(rcpts, 0, Optional.empty(), Optional.of("sender refused: " + mail.line()),
                        Optional.empty(), reused, tlsSession, auth);
            }
            for (int i = 0; i < rcpts.size(); i++) {
                Recipient r = rcpts.get(i);
                if (r.state() != State.PENDING) {
                    continue;
                }
                SmtpReply reply = c.rcpt(r.address());
                if (reply.isPositive()) {
                    accepted.add(i);
                } else {
                    rcpts.set(i, verdict(r, reply));
                }
            }
            if (accepted.isEmpty()) {
                return new Attempt(rcpts, 0, Optional.empty(), Optional.of("no recipient accepted"), Optional.empty(),
                        reused, tlsSession, auth);
            }
            SmtpReply end = sendBody(c, m);
            for (int i : accepted) {
                rcpts.set(i, end.isPositive() ? new Recipient(rcpts.get(i).address(), State.DELIVERED,
                        Optional.of(end.line())) : verdict(rcpts.get(i), end));
            }
            if (!end.isPositive()) {
                return new Attempt(rcpts, 0, Optional.empty(), Optional.of("message refused: " + end.line()),
                        Optional.empty(), reused, tlsSession, auth);
            }
            Optional<String> error = rcpts.stream().anyMatch(r -> r.state() == State.PENDING)
                    ? Optional.of("some recipients deferred") : Optional.empty();
            return new Attempt(rcpts, accepted.size(), Optional.of(end.line()), error, Optional.empty(), reused,
                    tlsSession, auth);
        } catch (UpstreamException e) {
            SmtpReply r = e.clientReply();
            if (r.isPermanent()) {
                for (int i : accepted) {
                    rcpts.set(i, verdict(rcpts.get(i), r));
                }
            }
            return new Attempt(rcpts, 0, Optional.empty(), Optional.of(r.text()), e.tlsFailure(), reused, tlsSession,
                    e.authMechanism().isPresent() ? e.authMechanism() : auth);
        }
    }

    /** DATA with the stored bytes; a local read failure abandons the transfer so nothing partial goes out. */
    private SmtpReply sendBody(UpstreamConnection c, QueuedMessage m) throws UpstreamException {
        OutputStream out = c.beginData();
        try (InputStream in = spool.openBody(m.id())) {
            in.transferTo(out);
        } catch (IOException e) {
            c.abort();
            throw new UpstreamException(new SmtpReply(451, "4.3.0 transfer interrupted: " + e.getMessage()),
                    Optional.empty(), e);
        }
        return c.endData();
    }

    private static void applyToPending(List<Recipient> rcpts, SmtpReply reply) {
        for (int i = 0; i < rcpts.size(); i++) {
            if (rcpts.get(i).state() == State.PENDING) {
                rcpts.set(i, verdict(rcpts.get(i), reply));
            }
        }
    }

    /** 5xx: failed for good. 4xx: still pending, with the reply remembered. */
    private static Recipient verdict(Recipient r, SmtpReply reply) {
        return new Recipient(r.address(), reply.isPermanent() ? State.FAILED : State.PENDING,
                Optional.of(reply.line()));
    }

    private static boolean isAscii(QueuedMessage m) {
        return m.sender().chars().allMatch(c -> c < 128)
                && m.recipients().stream().allMatch(r -> r.address().chars().allMatch(c -> c < 128));
    }

    /**
     * Stops starting attempts and waits up to {@code grace} for the running ones; what is left stays
     * queued for the next start.
     */
    public void stop(Duration grace) {
        running = false;
        wake();
        long deadline = System.nanoTime() + grace.toNanos();
        while (!inFlight.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!inFlight.isEmpty()) {
            log.warn("{} delivery attempt(s) still running after {}; they stay queued and are retried on start",
                    inFlight.size(), grace);
        }
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(5));
    }
}
