package dev.tlsrelay.route;

import dev.tlsrelay.config.Routing;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Optional;

/**
 * The sending budget of one route, shared by every session and delivery attempt: messages per
 * minute (a token bucket of depth one, so sends are evenly spaced and no minute ever sees more than
 * the rate), recipients per UTC day (persisted through {@link DailyCounts}) and the backoff a
 * throttling reply started. Time comes from an injectable {@link Clock}.
 */
public final class RoutePacer {

    /** A backoff doubles while throttling replies repeat, up to this many times the first. */
    static final int MAX_BACKOFF_FACTOR = 16;
    private static final Duration QUOTA_BACKOFF = Duration.ofHours(1);

    private final String route;
    private final Clock clock;
    private final DailyCounts counts;
    private volatile Routing.Limits limits;
    private Instant nextSlot = Instant.MIN;
    private Instant backoffUntil = Instant.MIN;
    private int consecutiveThrottles;

    public RoutePacer(String route, Routing.Limits limits, Clock clock, DailyCounts counts) {
        this.route = route;
        this.limits = limits;
        this.clock = clock;
        this.counts = counts;
    }

    public String route() {
        return route;
    }

    public Routing.Limits limits() {
        return limits;
    }

    /** New limits after a reload; the budget already spent and any backoff stay. */
    void limits(Routing.Limits next) {
        this.limits = next;
    }

    /**
     * Takes the budget for one message with {@code recipients} recipients if it is available now.
     *
     * @return empty when granted (the budget is spent); otherwise the earliest time to ask again
     */
    public synchronized Optional<Instant> tryAcquire(int recipients) {
        Instant now = clock.instant();
        Instant ready = readyAt(now, recipients);
        if (ready.isAfter(now)) {
            return Optional.of(ready);
        }
        Routing.Limits l = limits;
        if (l.messagesPerMinute() > 0) {
            Instant base = nextSlot.isAfter(now) ? nextSlot : now;
            nextSlot = base.plus(interval(l));
        }
        if (l.recipientsPerDay() > 0) {
            counts.add(route, today(now), recipients);
        }
        return Optional.empty();
    }

    /**
     * Takes {@code recipients} more from today's budget (pass-through counts recipient by recipient).
     *
     * @return empty when granted; otherwise when the budget is renewed (midnight UTC)
     */
    public synchronized Optional<Instant> tryAcquireRecipients(int recipients) {
        Instant now = clock.instant();
        Routing.Limits l = limits;
        if (l.recipientsPerDay() <= 0) {
            return Optional.empty();
        }
        long used = counts.get(route, today(now));
        if (used > 0 && used + recipients > l.recipientsPerDay()) {
            return Optional.of(today(now).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant());
        }
        counts.add(route, today(now), recipients);
        return Optional.empty();
    }

    /** When a message with this many recipients could go, without taking anything. */
    public synchronized Instant readyAt(int recipients) {
        return readyAt(clock.instant(), recipients);
    }

    /** How long until a message with this many recipients could go; zero when it could now. */
    public synchronized Duration untilReady(int recipients) {
        Instant now = clock.instant();
        return Duration.between(now, readyAt(now, recipients));
    }

    private Instant readyAt(Instant now, int recipients) {
        Routing.Limits l = limits;
        Instant ready = now;
        if (backoffUntil.isAfter(ready)) {
            ready = backoffUntil;
        }
        if (l.messagesPerMinute() > 0 && nextSlot.isAfter(ready)) {
            ready = nextSlot;
        }
        if (l.recipientsPerDay() > 0) {
            long used = counts.get(route, today(now));
            // A message larger than the whole daily budget goes alone at the start of a day.
            if (used > 0 && used + recipients > l.recipientsPerDay()) {
                Instant midnight = today(now).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
                if (midnight.isAfter(ready)) {
                    ready = midnight;
                }
            }
        }
        return ready;
    }

    /** Recipients still allowed today; empty when there is no daily limit. */
    public synchronized Optional<Long> recipientsLeftToday() {
        long perDay = limits.recipientsPerDay();
        return perDay <= 0 ? Optional.empty()
                : Optional.of(Math.max(0, perDay - counts.get(route, today(clock.instant()))));
    }

    /**
     * The upstream said "slow down": pause the route for everyone. The pause doubles while such
     * replies repeat without a success in between.
     *
     * @return until when the route pauses
     */
    public synchronized Instant throttled(ThrottleReplies.Kind kind) {
        Instant now = clock.instant();
        consecutiveThrottles = Math.min(consecutiveThrottles + 1, 31);
        Duration base = kind == ThrottleReplies.Kind.QUOTA ? QUOTA_BACKOFF : limits.throttleBackoff();
        long factor = Math.min(MAX_BACKOFF_FACTOR, 1L << (consecutiveThrottles - 1));
        Instant until = now.plus(base.multipliedBy(factor));
        if (until.isAfter(backoffUntil)) {
            backoffUntil = until;
        }
        return backoffUntil;
    }

    /** A message went through: the next throttling reply starts again at the first backoff. */
    public synchronized void succeeded() {
        consecutiveThrottles = 0;
    }

    /** Until when the route pauses after a throttling reply, if it does now. */
    public synchronized Optional<Instant> backoffUntil() {
        return backoffUntil.isAfter(clock.instant()) ? Optional.of(backoffUntil) : Optional.empty();
    }

    public Clock clock() {
        return clock;
    }

    private static Duration interval(Routing.Limits l) {
        return Duration.ofNanos(Duration.ofMinutes(1).toNanos() / l.messagesPerMinute());
    }

    private static LocalDate today(Instant now) {
        return LocalDate.ofInstant(now, ZoneOffset.UTC);
    }
}
