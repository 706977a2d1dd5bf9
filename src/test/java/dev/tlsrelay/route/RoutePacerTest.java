package dev.tlsrelay.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.config.ConfigLoader;
import dev.tlsrelay.config.Routing;
import dev.tlsrelay.support.ManualClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The budget of a route, measured on a clock the test moves. */
@Timeout(10)
class RoutePacerTest {

    @TempDir
    Path dir;

    private static Routing.Limits limits(int perMinute, long perDay) {
        return new Routing.Limits(perMinute, perDay, 0, 0, Duration.ofSeconds(10), Duration.ofSeconds(60));
    }

    /** Sends {@code n} messages as fast as the pacer allows; the instants they were granted. */
    private static List<Instant> burst(RoutePacer pacer, ManualClock clock, int n) {
        List<Instant> sent = new ArrayList<>();
        while (sent.size() < n) {
            Optional<Instant> wait = pacer.tryAcquire(1);
            if (wait.isEmpty()) {
                sent.add(clock.instant());
            } else {
                clock.advanceTo(wait.get());
            }
        }
        return sent;
    }

    private static int maxInAnyMinute(List<Instant> sent) {
        int max = 0;
        for (int i = 0; i < sent.size(); i++) {
            int j = i;
            while (j < sent.size() && sent.get(j).isBefore(sent.get(i).plusSeconds(60))) {
                j++;
            }
            max = Math.max(max, j - i);
        }
        return max;
    }

    @Test
    void aRateOf120AMinuteIsHeldOverABurst() {
        ManualClock clock = new ManualClock(Instant.parse("2026-11-23T10:00:00Z"));
        RoutePacer pacer = new RoutePacer("fast", limits(120, 0), clock, DailyCounts.inMemory());
        List<Instant> sent = burst(pacer, clock, 600);
        assertTrue(maxInAnyMinute(sent) <= 120, "at most 120 in any minute, saw " + maxInAnyMinute(sent));
        Duration span = Duration.between(sent.get(0), sent.get(sent.size() - 1));
        // 600 messages at 120/min: 599 half-second gaps, no faster and no slower.
        assertEquals(Duration.ofMillis(599 * 500), span);
    }

    /** Issue 12's "done when": the limits are the ones a route with the Microsoft 365 preset really gets. */
    @Test
    void aPrintRoomBurstOf200ThroughTheMicrosoft365PresetNeverExceeds30AMinute() throws Exception {
        Routing.Limits m365 = ConfigLoader.fromValues(Map.of(
                "audit.file", dir.resolve("audit.jsonl").toString(),
                "upstream.host", "relay.corp.test",
                "route.scans.senders", "scans@corp.test",
                "route.scans.preset", "microsoft365"), Map.of()).routing().routes().get(0).limits();
        ManualClock clock = new ManualClock(Instant.parse("2026-11-23T10:00:00Z"));
        RoutePacer pacer = new RoutePacer("scans", m365, clock, DailyCounts.inMemory());
        List<Instant> sent = burst(pacer, clock, 200);
        assertEquals(200, sent.size(), "every scan is let through, none dropped");
        assertTrue(maxInAnyMinute(sent) <= 30, "saw " + maxInAnyMinute(sent) + " in one minute");
        assertEquals(Duration.ofSeconds(199 * 2), Duration.between(sent.get(0), sent.get(199)), "and no slower");
        assertEquals(Optional.of(10_000L - 200), pacer.recipientsLeftToday());
    }

    @Test
    void theDailyQuotaSurvivesARestartAndRenewsAtMidnightUtc() throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-11-23T22:00:00Z"));
        RoutePacer first = new RoutePacer("ses", limits(0, 3), clock, DailyCounts.persistent(dir));
        assertTrue(first.tryAcquire(2).isEmpty());
        assertTrue(first.tryAcquire(1).isEmpty());

        // "Restart": new counts read from the same directory.
        RoutePacer second = new RoutePacer("ses", limits(0, 3), clock, DailyCounts.persistent(dir));
        assertEquals(Optional.of(0L), second.recipientsLeftToday());
        assertEquals(Optional.of(Instant.parse("2026-11-24T00:00:00Z")), second.tryAcquire(1));

        clock.advanceTo(Instant.parse("2026-11-24T00:00:00Z"));
        assertTrue(second.tryAcquire(1).isEmpty());
        assertEquals(Optional.of(2L), second.recipientsLeftToday());
    }

    @Test
    void throttlingPausesTheRouteAndTheBackoffDoublesWhileItRepeats() {
        ManualClock clock = new ManualClock(Instant.parse("2026-11-23T10:00:00Z"));
        RoutePacer pacer = new RoutePacer("ses", limits(0, 0), clock, DailyCounts.inMemory());
        Instant t0 = clock.instant();
        assertEquals(t0.plusSeconds(60), pacer.throttled(ThrottleReplies.Kind.RATE));
        assertEquals(Optional.of(t0.plusSeconds(60)), pacer.tryAcquire(1));
        clock.advanceTo(t0.plusSeconds(60));
        assertEquals(t0.plusSeconds(60 + 120), pacer.throttled(ThrottleReplies.Kind.RATE));
        for (int i = 0; i < 10; i++) {
            pacer.throttled(ThrottleReplies.Kind.RATE);
        }
        assertEquals(Optional.of(clock.instant().plus(Duration.ofSeconds(60L * RoutePacer.MAX_BACKOFF_FACTOR))),
                pacer.backoffUntil());
        clock.advanceTo(pacer.backoffUntil().orElseThrow());
        pacer.succeeded();
        assertEquals(clock.instant().plusSeconds(60), pacer.throttled(ThrottleReplies.Kind.RATE));
    }
}
