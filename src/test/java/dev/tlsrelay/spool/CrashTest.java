package dev.tlsrelay.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.CaughtMessage;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.TlsRelayProcess;
import dev.tlsrelay.tls.TlsMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills the relay (SIGKILL, a real child JVM) at random moments during a burst of submissions,
 * restarts it, and checks the spool's promise: every message that got 250 is delivered; a message
 * that did not get 250 is delivered only if it was the one in flight at the kill; duplicates only
 * for deliveries in flight at a kill (at-least-once).
 */
@Timeout(300)
class CrashTest {

    private static final int ROUNDS = 5;
    private static final int WORKERS = 4;
    private static final Pattern SUBJECT = Pattern.compile("Subject: crash-(\\d+)");

    @TempDir
    Path dir;

    @Test
    void noAcknowledgedMessageIsLostAcrossKills() throws Exception {
        TestPki pki = new TestPki();
        Random random = new Random(42);
        int relayPort = Catchers.unusedPort();
        try (Catcher upstream = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good())) {
            Path config = dir.resolve("tlsrelay.properties");
            Files.writeString(config, String.join("\n",
                    "listen.port = " + relayPort,
                    "upstream.host = 127.0.0.1",
                    "upstream.port = " + upstream.port(),
                    "upstream.tls.ca-file = " + pki.writeCa(dir),
                    "delivery.mode = spool",
                    "spool.dir = " + dir.resolve("spool"),
                    "spool.workers = " + WORKERS,
                    "spool.retry.initial = 200ms",
                    "spool.retry.max-interval = 500ms",
                    "audit.file = " + dir.resolve("audit.jsonl"), ""));
            Set<Integer> acknowledged = new HashSet<>();
            Set<Integer> unanswered = new HashSet<>();
            int next = 0;
            for (int round = 0; round < ROUNDS; round++) {
                try (TlsRelayProcess relay = TlsRelayProcess.start(dir, "run", "--config", config.toString())) {
                    relay.awaitLine(l -> l.contains("listening on 127.0.0.1:" + relayPort), Duration.ofSeconds(60));
                    long killAt = System.nanoTime() + Duration.ofMillis(300 + random.nextInt(1200)).toNanos();
                    AtomicBoolean killed = new AtomicBoolean();
                    Thread killer = Thread.ofVirtual().start(() -> {
                        try {
                            Thread.sleep(Math.max(0, (killAt - System.nanoTime()) / 1_000_000));
                            relay.kill();
                            killed.set(true);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                    while (!killed.get()) {
                        int n = next++;
                        try {
                            String reply = LegacyClient.send(relayPort, "scanner@office.test",
                                    LegacyClient.sampleMessage("crash-" + n), "admin@office.test");
                            if (reply.startsWith("250")) {
                                acknowledged.add(n);
                            } else {
                                unanswered.add(n);
                            }
                        } catch (Exception e) {
                            unanswered.add(n);
                            break; // the relay is gone
                        }
                    }
                    killer.join(30_000);
                }
            }
            // A last start delivers whatever is left.
            try (TlsRelayProcess relay = TlsRelayProcess.start(dir, "run", "--config", config.toString())) {
                relay.awaitLine(l -> l.contains("listening on 127.0.0.1:" + relayPort), Duration.ofSeconds(60));
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (queued() > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertEquals(0, queued(), "the spool drains after the last restart");
                Thread.sleep(500);
            }

            Map<Integer, Integer> delivered = new HashMap<>();
            for (CaughtMessage m : upstream.received()) {
                Matcher matcher = SUBJECT.matcher(Files.readString(m.eml()));
                assertTrue(matcher.find(), "every delivered message is one of ours");
                delivered.merge(Integer.parseInt(matcher.group(1)), 1, Integer::sum);
            }
            for (int n : acknowledged) {
                assertTrue(delivered.containsKey(n), "message " + n + " got 250 but was never delivered");
            }
            long notAcknowledgedButDelivered = delivered.keySet().stream().filter(n -> !acknowledged.contains(n)).count();
            assertTrue(delivered.keySet().stream().allMatch(n -> acknowledged.contains(n) || unanswered.contains(n)),
                    "only submitted messages arrive");
            assertTrue(notAcknowledgedButDelivered <= ROUNDS,
                    "at most the one submission in flight per kill may arrive without its 250");
            long duplicates = delivered.values().stream().filter(c -> c > 1).count();
            assertTrue(duplicates <= (long) ROUNDS * WORKERS,
                    "duplicates only for deliveries in flight at a kill, got " + duplicates);
            assertTrue(acknowledged.size() >= ROUNDS, "the burst really submitted messages: " + acknowledged.size());
            System.out.printf("crash test: %d acknowledged, %d unanswered, %d delivered, %d delivered without 250,"
                    + " %d duplicated, over %d kills%n", acknowledged.size(), unanswered.size(), delivered.size(),
                    notAcknowledgedButDelivered, duplicates, ROUNDS);
        }
    }

    private long queued() throws java.io.IOException {
        try (var files = Files.list(dir.resolve("spool/queue"))) {
            return files.filter(p -> p.toString().endsWith(".json")).count();
        }
    }
}
