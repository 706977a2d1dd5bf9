package dev.tlsrelay.delivery;

import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.route.RouteTable;
import dev.tlsrelay.spool.QueuedMessage;
import dev.tlsrelay.spool.QueuedMessage.Recipient;
import dev.tlsrelay.spool.QueuedMessage.State;
import dev.tlsrelay.spool.Spool;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.upstream.SmtpReply;
import dev.tlsrelay.upstream.UpstreamConnection;
import dev.tlsrelay.upstream.UpstreamException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
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
 *
 * <p>Routes: each attempt groups a message's pending recipients by route (and by the route's
 * recipients-per-message), and each part is its own upstream transaction with its own result and
 * audit line. A part whose route has no budget now (rate, daily quota, throttling backoff) is held:
 * it stays pending without counting as an attempt, and the scheduler looks again when the budget
 * allows.
 */
public final class QueueRunner implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(QueueRunner.class);
    private static final Duration TICK = Duration.ofSeconds(1);

    private final Spool spool;
    private volatile RouteTable routes;
    private final AuditLog audit;
    private final RelayConfig.Spool config;
    private final String relayHostname;
    private final Clock clock;
    private final Map<String, QueuedMessage> index = new ConcurrentHashMap<>();
    /** The messages of {@link #index} by next attempt: the scheduler reads only the due ones, in order. */
    private final NavigableSet<Due> byNextAttempt = new ConcurrentSkipListSet<>();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final Semaphore workers;
    private final Object signal = new Object();
    private volatile boolean running;
    private volatile boolean wakeUp;
    private Thread scheduler;

    /**
     * @param clock what due times, backoff, {@code spool.max-age} and the audit lines of attempts are
     *              measured by: the system clock in production, a manual one in tests (see {@link #wake()})
     */
    public QueueRunner(Spool spool, RouteTable routes, AuditLog audit, RelayConfig.Spool config,
            String relayHostname, Clock clock) {
        this.spool = spool;
        this.routes = routes;
        this.audit = audit;
        this.config = config;
        this.relayHostname = relayHostname;
        this.clock = clock;
        this.workers = new Semaphore(config.workers());
    }

    /** Loads what is already queued and starts delivering. */
    public void start() throws IOException {
        List<QueuedMessage> existing = spool.list();
        existing.forEach(this::track);
        if (!existing.isEmpty()) {
            log.info("{} message(s) already in the spool {}; delivering them", existing.size(), spool.dir());
        }
        running = true;
        scheduler = Thread.ofVirtual().name("tlsrelay-spool").start(this::loop);
    }

    /** Delivers over these routes from the next attempt on (reload); attempts running finish as they began. */
    public void useRoutes(RouteTable next) {
        this.routes = next;
    }

    /** A newly committed message: try it now. */
    public void enqueue(QueuedMessage m) {
        track(m);
        wake();
    }

    /** Messages known to be queued (for tests and status). */
    public int queued() {
        return index.size();
    }

    /** How long the oldest queued message has waited; zero when the queue is empty. */
    public Duration oldestAge() {
        Instant now = clock.instant();
        return index.values().stream().map(m -> m.age(now)).max(Comparator.naturalOrder()).orElse(Duration.ZERO);
    }

    /**
     * Looks at the schedule now instead of at the next wake-up (at most one second away). Enqueueing,
     * finished attempts and queue requests call it; a test that moves its manual clock calls it so
     * the runner sees the new time at once.
     */
    public void wake() {
        synchronized (signal) {
            wakeUp = true;
            signal.notifyAll();
        }
    }

    private void loop() {
        while (running) {
            Duration wait = TICK;
            try {
                handleRequests();
                Optional<Duration> budget = dispatchDue();
                if (budget.isPresent() && budget.get().compareTo(wait) < 0) {
                    wait = budget.get();
                }
            } catch (IOException | RuntimeException e) {
                log.error("spool scheduler: {}", e.toString());
            }
            synchronized (signal) {
                if (!wakeUp && running) {
                    try {
                        signal.wait(Math.max(5, wait.toMillis()));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                wakeUp = false;
            }
        }
    }

    /** A message's place in {@link #byNextAttempt}: earliest first, ties by id. */
    private record Due(Instant at, String id) implements Comparable<Due> {
        private static final Comparator<Due> ORDER = Comparator.comparing(Due::at).thenComparing(Due::id);

        @Override
        public int compareTo(Due o) {
            return ORDER.compare(this, o);
        }
    }

    /** Adds or replaces a message in the index and the schedule, together (per id, under the map's lock). */
    private void track(QueuedMessage m) {
        index.compute(m.id(), (id, old) -> {
            if (old != null) {
                byNextAttempt.remove(new Due(old.nextAttempt(), id));
            }
            byNextAttempt.add(new Due(m.nextAttempt(), id));
            return m;
        });
    }

    /** Drops a message from the index and the schedule. */
    private void forget(String id) {
        index.computeIfPresent(id, (k, old) -> {
            byNextAttempt.remove(new Due(old.nextAttempt(), k));
            return null;
        });
    }

    /**
     * Starts attempts for due messages with budget, earliest first; returns how soon a held one may
     * have budget. Reads the schedule only up to now: no pass over the whole queue per wake-up.
     */
    private Optional<Duration> dispatchDue() {
        Instant now = clock.instant();
        Optional<Duration> soonest = Optional.empty();
        for (Due d : byNextAttempt.headSet(new Due(now, "\uffff"), true)) {
            QueuedMessage m = index.get(d.id());
            if (m == null || !m.nextAttempt().equals(d.at()) || inFlight.contains(m.id())) {
                continue; // changed or gone since the schedule was read
            }
            Optional<Duration> held = untilBudget(m);
            if (held.isPresent()) {
                if (soonest.isEmpty() || held.get().compareTo(soonest.get()) < 0) {
                    soonest = held;
                }
                continue;
            }
            if (!running || !workers.tryAcquire()) {
                return soonest;
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
        return soonest;
    }

    /** Empty when some part of the message has budget now; else how long until one may. */
    private Optional<Duration> untilBudget(QueuedMessage m) {
        Duration soonest = null;
        for (Part p : parts(m)) {
            Duration d = p.route().pacer().untilReady(p.indexes().size());
            if (d.isZero() || d.isNegative()) {
                return Optional.empty();
            }
            soonest = soonest == null || d.compareTo(soonest) < 0 ? d : soonest;
        }
        return Optional.ofNullable(soonest);
    }

    /** One upstream transaction of a message: recipients (by index) of one route. */
    private record Part(RouteTable.Route route, List<Integer> indexes) {}

    /** Pending recipients grouped by route, in order of first appearance, cut to recipients-per-message. */
    private List<Part> parts(QueuedMessage m) {
        RouteTable table = routes;
        Map<String, List<Integer>> byRoute = new java.util.LinkedHashMap<>();
        List<Recipient> rcpts = m.recipients();
        for (int i = 0; i < rcpts.size(); i++) {
            if (rcpts.get(i).state() == State.PENDING) {
                String route = table.router().choose(m.sender(), rcpts.get(i).address(), m.clientAddress()).route();
                byRoute.computeIfAbsent(route, r -> new ArrayList<>()).add(i);
            }
        }
        List<Part> out = new ArrayList<>();
        byRoute.forEach((name, indexes) -> {
            RouteTable.Route route = table.route(name);
            int per = route.limits().maxRecipientsPerMessage();
            int step = per > 0 ? per : indexes.size();
            for (int from = 0; from < indexes.size(); from += step) {
                out.add(new Part(route, List.copyOf(indexes.subList(from, Math.min(indexes.size(), from + step)))));
            }
        });
        return out;
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
        QueuedMessage due = m.get().dueNow(clock.instant());
        spool.update(due);
        track(due);
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
        forget(id);
        if (existed) {
            log.info("deleted {} from the spool on request", id);
        }
        return existed;
    }

    // ---- one delivery attempt ----------------------------------------------------------

    private void deliver(String id) throws IOException {
        Optional<QueuedMessage> loaded = spool.load(id);
        if (loaded.isEmpty()) {
            forget(id);
            return;
        }
        QueuedMessage m = loaded.get();
        List<Recipient> rcpts = new ArrayList<>(m.recipients());
        boolean attempted = false;
        boolean deferred = false;
        boolean onlyThrottled = true;
        Instant throttledUntil = Instant.MIN;
        Optional<String> error = Optional.empty();
        Optional<FailureCode> failure = Optional.empty();
        Optional<String> auth = Optional.empty();
        for (Part part : parts(m)) {
            if (part.route().pacer().tryAcquire(part.indexes().size()).isPresent()) {
                continue; // held: no budget for this route now
            }
            attempted = true;
            long started = System.nanoTime();
            Attempt a = attempt(m, part, rcpts);
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            if (a.accepted > 0) {
                audit.write(new AuditEvent.Message(clock.instant(), m.sessionId(), m.clientAddress(), m.sender(),
                        part.indexes().stream().map(i -> rcpts.get(i).address()).toList(), a.accepted, m.size(), true,
                        java.util.OptionalInt.empty(), a.finalReply, Optional.empty(), Optional.empty(),
                        Optional.of(m.id()), a.tlsSession, a.connectionReused, Optional.of(took),
                        Optional.of(part.route().name()), a.authMechanism));
                log.info("[{}] relayed {} to {} recipient(s) over route {}: {}", m.sessionId(), m.id(), a.accepted,
                        part.route().name(), audit.addressDisplay().text(a.finalReply.orElse(""), m.addresses()));
            }
            if (a.authMechanism.isPresent()) {
                auth = a.authMechanism;
            }
            if (part.indexes().stream().anyMatch(i -> rcpts.get(i).state() == State.PENDING)) {
                deferred = true;
                error = a.error.or(() -> Optional.of("temporary failure"));
                failure = a.failure.or(() -> Optional.empty());
                if (a.throttled) {
                    Instant until = part.route().pacer().backoffUntil().orElse(clock.instant());
                    throttledUntil = until.isAfter(throttledUntil) ? until : throttledUntil;
                } else {
                    onlyThrottled = false;
                }
            } else if (a.error.isPresent() && error.isEmpty()) {
                error = a.error;
            }
        }
        if (!attempted) {
            return; // every part held; the scheduler looks again when a route has budget
        }
        Instant now = clock.instant();
        boolean pending = rcpts.stream().anyMatch(r -> r.state() == State.PENDING);
        if (pending && m.age(now).compareTo(config.maxAge()) >= 0) {
            String why = "expired: not delivered within spool.max-age (" + config.maxAge() + "), last error: "
                    + error.orElse("none");
            rcpts.replaceAll(r -> r.state() == State.PENDING
                    ? new Recipient(r.address(), State.FAILED, Optional.of("4.4.7 " + why)) : r);
            pending = false;
        }
        Optional<String> failureName = failure.map(FailureCode::auditName);
        if (!pending) {
            finish(m.afterAttempt(rcpts, now, error, failureName), error);
            return;
        }
        if (!deferred) {
            // Only held parts are left: due again at once, released by the scheduler as budget allows.
            QueuedMessage progressed = new QueuedMessage(m.id(), m.sessionId(), m.clientAddress(), m.sender(), rcpts,
                    m.receivedAt(), m.size(), m.attempts(), now, m.lastError(), m.lastFailure());
            spool.update(progressed);
            track(progressed);
            return;
        }
        // A throttled route says when to come back; other temporary failures back off per message.
        Instant next = onlyThrottled && throttledUntil.isAfter(now) ? throttledUntil
                : now.plus(backoff(m.attempts() + 1));
        QueuedMessage later = m.afterAttempt(rcpts, next, error, failureName);
        spool.update(later);
        track(later);
        audit.write(new AuditEvent.Deferred(now, m.sessionId(), m.id(), later.attempts(), next,
                error.orElse("temporary failure"), failureName, auth));
        log.warn("[{}] deferred {} (attempt {}): {}; next attempt {}", m.sessionId(), m.id(), later.attempts(),
                audit.addressDisplay().text(error.orElse("temporary failure"), m.addresses()), next);
    }

    /** No recipient left to try: remove the message, or bury it if some recipients failed. */
    private void finish(QueuedMessage m, Optional<String> error) throws IOException {
        List<Recipient> failed = m.failedRecipients();
        if (failed.isEmpty()) {
            spool.remove(m.id());
            forget(m.id());
            return;
        }
        String reason = failed.stream().map(r -> "<" + r.address() + ">: " + r.reply().orElse(error.orElse("failed")))
                .reduce((x, y) -> x + "; " + y).orElse("failed");
        boolean bounce = config.bounce() && !m.sender().isEmpty();
        spool.bury(m, reason);
        forget(m.id());
        if (bounce) {
            bounce(m, failed);
        }
        audit.write(new AuditEvent.Dead(clock.instant(), m.sessionId(), m.id(), m.attempts(), reason, failed.size(),
                bounce));
        log.warn("[{}] gave up on {} after {} attempt(s), moved to {}/dead: {}", m.sessionId(), m.id(), m.attempts(),
                spool.dir(), audit.addressDisplay().text(reason, m.addresses()));
    }

    private void bounce(QueuedMessage m, List<Recipient> failed) {
        try (Spool.Writer w = spool.begin()) {
            byte[] dsn;
            try (InputStream original = spool.openDeadBody(m.id())) {
                dsn = DeliveryStatusNotification.build(m, failed, relayHostname, original);
            }
            w.write(dsn, 0, dsn.length);
            QueuedMessage b = w.commit(m.sessionId(), "127.0.0.1", "", List.of(m.sender()), clock.instant());
            audit.write(new AuditEvent.Queued(clock.instant(), m.sessionId(), b.id(), "tlsrelay", "",
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

    /**
     * What one part's attempt did.
     *
     * @param throttled     the upstream said "slow down": its recipients stay pending whatever the code
     * @param authMechanism the SASL mechanism the upstream connection used or tried, if any
     */
    private record Attempt(int accepted, Optional<String> finalReply, Optional<String> error,
            Optional<FailureCode> failure, boolean connectionReused, Optional<String> tlsSession, boolean throttled,
            Optional<String> authMechanism) {}

    /** One upstream transaction for one part; updates {@code rcpts} at the part's indexes. */
    private Attempt attempt(QueuedMessage m, Part part, List<Recipient> rcpts) {
        RouteTable table = routes;
        RouteTable.Route route = part.route();
        List<Integer> accepted = new ArrayList<>();
        boolean reused = false;
        boolean throttled = false;
        Optional<String> tlsSession = Optional.empty();
        Optional<String> auth = Optional.empty();
        try (UpstreamConnection c = route.client().open(m.sessionId())) {
            auth = c.authMechanism();
            reused = c.reused();
            tlsSession = reused ? Optional.of(c.negotiatedBy()) : Optional.empty();
            SmtpReply mail = c.mailFrom(m.sender(), m.size(), !isAscii(m));
            throttled = table.observe(route, mail, m.sessionId()).isPresent();
            if (!mail.isPositive()) {
                for (int i : part.indexes()) {
                    rcpts.set(i, verdict(rcpts.get(i), mail, throttled));
                }
                return new Attempt(0, Optional.empty(), Optional.of("sender refused: " + mail.line()),
                        Optional.empty(), reused, tlsSession, throttled, auth);
            }
            for (int i : part.indexes()) {
                Recipient r = rcpts.get(i);
                SmtpReply reply = c.rcpt(r.address());
                boolean slowDown = table.observe(route, reply, m.sessionId()).isPresent();
                throttled |= slowDown;
                if (reply.isPositive()) {
                    accepted.add(i);
                } else {
                    rcpts.set(i, verdict(r, reply, slowDown));
                }
            }
            if (accepted.isEmpty()) {
                return new Attempt(0, Optional.empty(), Optional.of("no recipient accepted"), Optional.empty(),
                        reused, tlsSession, throttled, auth);
            }
            SmtpReply end = sendBody(c, m);
            boolean slowDown = table.observe(route, end, m.sessionId()).isPresent();
            throttled |= slowDown;
            for (int i : accepted) {
                rcpts.set(i, end.isPositive() ? new Recipient(rcpts.get(i).address(), State.DELIVERED,
                        Optional.of(end.line())) : verdict(rcpts.get(i), end, slowDown));
            }
            if (!end.isPositive()) {
                return new Attempt(0, Optional.empty(), Optional.of("message refused: " + end.line()),
                        Optional.empty(), reused, tlsSession, throttled, auth);
            }
            Optional<String> error = part.indexes().stream().anyMatch(i -> rcpts.get(i).state() == State.PENDING)
                    ? Optional.of("some recipients deferred") : Optional.empty();
            return new Attempt(accepted.size(), Optional.of(end.line()), error, Optional.empty(), reused, tlsSession,
                    throttled, auth);
        } catch (UpstreamException e) {
            SmtpReply r = e.clientReply();
            throttled |= table.observe(route, e, m.sessionId()).isPresent();
            if (r.isPermanent() && !throttled) {
                for (int i : accepted) {
                    rcpts.set(i, verdict(rcpts.get(i), r, false));
                }
            }
            return new Attempt(0, Optional.empty(), Optional.of(r.text()), e.tlsFailure(), reused, tlsSession,
                    throttled, e.authMechanism().isPresent() ? e.authMechanism() : auth);
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

    /** 5xx: failed for good, unless it is a throttling reply (a spent quota). 4xx: still pending. */
    private static Recipient verdict(Recipient r, SmtpReply reply, boolean throttled) {
        return new Recipient(r.address(), reply.isPermanent() && !throttled ? State.FAILED : State.PENDING,
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
