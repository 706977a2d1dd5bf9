package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.delivery.QueueRunner;
import dev.tlsrelay.route.RoutePacer;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.ManualClock;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RecordingProxy;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12's "done when", first half, at full size through a running relay: a print room's burst
 * of 200 scans, spooled at once, leaves for a Microsoft 365 route (a real STARTTLS upstream with
 * its own CA and login) at no more than the preset's 30 messages a minute, and every scan arrives
 * exactly once. The relay tells time by a manual clock, so seven minutes of pacing take seconds.
 */
@Timeout(90)
class PrintRoomBurstTest {

    private static final int SCANS = 200;
    private static final int DEVICES = 4;
    private static final int PER_MINUTE = 30;
    /** One slot at the preset's rate. */
    private static final Duration SLOT = Duration.ofMinutes(1).dividedBy(PER_MINUTE);
    private static final Pattern MESSAGE_ID = Pattern.compile("(?m)^Message-ID: <(scan-\\d+)@printroom\\.corp\\.test>");

    @TempDir
    Path dir;

    /** When (by the relay's clock) the upstream caught a scan, and which. */
    private record Caught(Instant at, String scan) {}

    @Test
    void aPrintRoomBurstOf200ScansLeavesAtMost30AMinuteThroughTheMicrosoft365PresetAndEveryScanArrivesOnce()
            throws Exception {
        TestPki pki = new TestPki();
        Path ca = pki.writeCa(dir);
        ManualClock clock = new ManualClock(Instant.parse("2026-11-23T09:00:00Z"));
        Catcher.Credentials login = new Catcher.Credentials("scans@corp.test", "burst-secret-3");
        List<Caught> caught = new CopyOnWriteArrayList<>();
        try (Catcher m365 = Catchers.start(dir.resolve("m365"), TlsMode.STARTTLS, pki.good(), Optional.of(login));
                RecordingProxy wire = RecordingProxy.start(m365.port())) {
            m365.onMessage(m -> caught.add(new Caught(clock.instant(), scanOf(m.eml()))));
            Map<String, String> s = new HashMap<>();
            s.put("delivery.mode", "spool");
            s.put("upstream.host", "127.0.0.1");
            s.put("upstream.port", String.valueOf(Catchers.unusedPort()));
            s.put("upstream.tls.ca-file", ca.toString());
            s.put("route.scans.senders", "scans@corp.test");
            s.put("route.scans.preset", "microsoft365");
            s.put("route.scans.host", "127.0.0.1");
            s.put("route.scans.port", String.valueOf(wire.port()));
            s.put("route.scans.tls.ca-file", ca.toString());
            Map<String, String> env = Map.of("TLSRELAY_ROUTE_SCANS_AUTH_USERNAME", login.username(),
                    "TLSRELAY_ROUTE_SCANS_AUTH_PASSWORD", login.password());
            try (RelayFixture relay = RelayFixture.start(dir, s, env, clock)) {
                assertEquals(SCANS, scanAll(relay.port()), "every scan taken with 250 (spooled)");
                QueueRunner queue = relay.relay.queue().orElseThrow();

                // Move the relay's clock to when the route says it may send next, and wait (bounded) for what
                // the relay lets out: the upstream's arrival times, not the test's steps, show the rate.
                RoutePacer pacer = relay.relay.routes().route("scans").pacer();
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (caught.size() < SCANS && System.nanoTime() < deadline) {
                    int before = caught.size();
                    queue.wake();
                    awaitUntil(() -> caught.size() > before, Duration.ofSeconds(5));
                    clock.advanceTo(pacer.readyAt(1));
                }

                Map<String, Long> arrivals = caught.stream().collect(Collectors.groupingBy(Caught::scan,
                        TreeMap::new, Collectors.counting()));
                assertEquals(SCANS, arrivals.size(), "scans that arrived: " + arrivals.keySet());
                assertTrue(arrivals.values().stream().allMatch(n -> n == 1), "duplicated: " + arrivals);
                List<Instant> at = caught.stream().map(Caught::at).sorted().toList();
                for (int i = 0; i + PER_MINUTE < at.size(); i++) {
                    Duration window = Duration.between(at.get(i), at.get(i + PER_MINUTE));
                    assertTrue(window.compareTo(Duration.ofMinutes(1)) >= 0, (PER_MINUTE + 1) + " scans left within "
                            + window + " from " + at.get(i) + " (relay clock)");
                }
                // Paced, not stalled: the burst takes about the 200 slots the preset's rate needs.
                Duration span = Duration.between(at.get(0), at.get(at.size() - 1));
                assertTrue(span.compareTo(SLOT.multipliedBy(SCANS + 10)) < 0, "the burst took " + span);
                assertTrue(wire.mostConnectionsAtOnce() <= 3, "at most the preset's 3 connections upstream, saw "
                        + wire.mostConnectionsAtOnce());
                // The spool lets go of the last scan just after the upstream took it.
                awaitUntil(() -> queue.queued() == 0, Duration.ofSeconds(5));
                assertEquals(0, queue.queued(), "the spool is empty");
            }
        }
    }

    /** The print room: {@link #DEVICES} scanners send their share of the scans at once, one session each. */
    private static int scanAll(int port) throws Exception {
        int each = SCANS / DEVICES;
        ExecutorService devices = Executors.newVirtualThreadPerTaskExecutor();
        try (devices) {
            List<Future<Integer>> taken = new ArrayList<>();
            for (int d = 0; d < DEVICES; d++) {
                int first = d * each;
                taken.add(devices.submit(() -> scan(port, first, each)));
            }
            int total = 0;
            for (Future<Integer> f : taken) {
                total += f.get();
            }
            return total;
        }
    }

    /** One scanner's session: scans {@code first} to {@code first + count - 1}; how many got 250. */
    private static int scan(int port, int first, int count) throws IOException {
        int ok = 0;
        try (RawSmtp c = RawSmtp.connect(port)) {
            c.reply();
            c.command("EHLO scanner.printroom.lan");
            for (int n = first; n < first + count; n++) {
                c.command("MAIL FROM:<scans@corp.test>");
                c.command("RCPT TO:<office@corp.test>");
                c.command("DATA");
                String end = c.command("From: scans@corp.test\r\nTo: office@corp.test\r\nSubject: scan " + n
                        + "\r\nMessage-ID: <scan-" + n + "@printroom.corp.test>\r\n\r\nscanned page " + n + "\r\n.");
                ok += end.startsWith("250") ? 1 : 0;
            }
            c.command("QUIT");
        }
        return ok;
    }

    private static String scanOf(Path eml) {
        try {
            Matcher m = MESSAGE_ID.matcher(Files.readString(eml));
            return m.find() ? m.group(1) : "unknown";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void awaitUntil(BooleanSupplier condition, Duration bound)
            throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
    }
}
