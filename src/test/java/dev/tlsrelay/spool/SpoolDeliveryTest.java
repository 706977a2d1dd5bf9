package dev.tlsrelay.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.PickyUpstream;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Store-and-forward against real upstreams that are down, broken, picky, and then fixed. */
@Timeout(90)
class SpoolDeliveryTest {

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();

    private Map<String, String> spoolSettings(int upstreamPort) throws Exception {
        Map<String, String> s = new HashMap<>();
        s.put("delivery.mode", "spool");
        s.put("upstream.host", "127.0.0.1");
        s.put("upstream.port", String.valueOf(upstreamPort));
        s.put("upstream.tls.ca-file", pki.writeCa(dir).toString());
        s.put("upstream.timeout", "5s");
        s.put("spool.retry.initial", "200ms");
        s.put("spool.retry.max-interval", "400ms");
        return s;
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    private static boolean hasEvent(RelayFixture relay, String event) {
        try {
            return !relay.audit(event).isEmpty();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void acceptedWhileTheUpstreamIsDownAndDeliveredWhenItReturns() throws Exception {
        int port = Catchers.unusedPort();
        try (RelayFixture relay = RelayFixture.start(dir, spoolSettings(port))) {
            byte[] raw = LegacyClient.sampleMessage("outage");
            String reply = LegacyClient.send(relay.port(), "scanner@office.test", raw, "admin@office.test");
            assertTrue(reply.startsWith("250 2.0.0 Ok: queued as "), reply);
            String id = reply.substring(reply.lastIndexOf(' ') + 1).trim();

            await("a deferral", () -> hasEvent(relay, "message.deferred"));
            JsonNode deferred = relay.audit("message.deferred").get(0);
            assertEquals(id, deferred.get("queue_id").asText());
            assertEquals("connect_failed", deferred.get("failure").asText());
            assertEquals(1, deferred.get("attempt").asInt());
            assertTrue(deferred.has("next_attempt"));
            assertEquals(id, relay.audit("message.queued").get(0).get("queue_id").asText());

            try (Catcher upstream = Catchers.startOn(port, dir.resolve("caught"), TlsMode.STARTTLS, pki.good(),
                    Optional.empty())) {
                assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(30)));
                byte[] eml = Files.readAllBytes(upstream.received().get(0).eml());
                assertTrue(java.util.Arrays.equals(raw, 0, raw.length, eml, eml.length - raw.length, eml.length),
                        "spooled bytes arrive unchanged");
                await("the relayed event", () -> hasEvent(relay, "message.relayed"));
                assertEquals(id, relay.audit("message.relayed").get(0).get("queue_id").asText());
                await("an empty queue", () -> relay.relay.queue().orElseThrow().queued() == 0);
                assertEquals(0, Files.list(dir.resolve("spool/queue")).count());
            }
        }
    }

    @Test
    void tlsFailureIsDeferredWithItsCodeAndDeliveredOnceTheUpstreamIsFixed() throws Exception {
        Catcher broken = Catchers.start(dir.resolve("broken"), TlsMode.STARTTLS, pki.wrongHost());
        int port = broken.port();
        try (RelayFixture relay = RelayFixture.start(dir, spoolSettings(port))) {
            LegacyClient.send(relay.port(), "scanner@office.test", LegacyClient.sampleMessage("tls"),
                    "admin@office.test");
            await("a deferral", () -> hasEvent(relay, "message.deferred"));
            assertEquals("hostname_mismatch", relay.audit("message.deferred").get(0).get("failure").asText());
            assertTrue(broken.received().isEmpty(), "never sent over an unverified connection");
            broken.close();
            try (Catcher fixed = Catchers.startOn(port, dir.resolve("fixed"), TlsMode.STARTTLS, pki.good(),
                    Optional.empty())) {
                assertTrue(fixed.awaitMessages(1, Duration.ofSeconds(30)));
            }
        } finally {
            broken.close();
        }
    }

    @Test
    void permanentRefusalIsADeadLetterWithABounceAndAcceptedRecipientsAreNotRetried() throws Exception {
        try (PickyUpstream upstream = new PickyUpstream(pki.good())) {
            Map<String, String> s = spoolSettings(upstream.port());
            s.put("spool.bounce", "true");
            try (RelayFixture relay = RelayFixture.start(dir, s); RawSmtp c = RawSmtp.connect(relay.port())) {
                c.reply();
                c.command("EHLO scanner.lan");
                c.command("MAIL FROM:<scanner@office.test>");
                c.command("RCPT TO:<admin@office.test>");
                c.command("RCPT TO:<nobody@office.test>");
                c.command("DATA");
                String queued = c.command("Subject: invoice\r\nMessage-ID: <inv-1@office.test>\r\n\r\nsee attached\r\n.");
                assertTrue(queued.startsWith("250"), queued);
                c.command("QUIT");

                await("the dead letter", () -> hasEvent(relay, "message.dead"));
                JsonNode dead = relay.audit("message.dead").get(0);
                assertTrue(dead.get("reason").asText().contains("<nobody@office.test>: 550 5.1.1"), dead.toString());
                assertEquals(1, dead.get("rcpt_failed").asInt());
                assertTrue(dead.get("bounced").asBoolean());
                String id = dead.get("queue_id").asText();
                assertTrue(Files.exists(dir.resolve("spool/dead/" + id + ".eml")));
                assertTrue(Files.readString(dir.resolve("spool/dead/" + id + ".json")).contains("dead_reason"));

                // The accepted recipient got it exactly once; the bounce went to the sender.
                assertTrue(upstream.await(2, Duration.ofSeconds(30)));
                List<PickyUpstream.Accepted> got = upstream.accepted();
                assertEquals(List.of("admin@office.test"), got.get(0).recipients());
                PickyUpstream.Accepted bounce = got.get(1);
                assertEquals("", bounce.sender(), "bounces are sent with the null sender");
                assertEquals(List.of("scanner@office.test"), bounce.recipients());
                assertTrue(bounce.content().contains("multipart/report; report-type=delivery-status"));
                assertTrue(bounce.content().contains("Final-Recipient: rfc822; nobody@office.test"));
                assertTrue(bounce.content().contains("Status: 5.1.1"));
                assertTrue(bounce.content().contains("Message-ID: <inv-1@office.test>"));
                Thread.sleep(500);
                assertEquals(2, upstream.accepted().size(), "nothing is retried after the verdicts");
            }
        }
    }

    @Test
    void tooOldMessagesExpireIntoTheDeadLetters() throws Exception {
        Map<String, String> s = spoolSettings(Catchers.unusedPort());
        s.put("spool.max-age", "1s");
        try (RelayFixture relay = RelayFixture.start(dir, s)) {
            LegacyClient.send(relay.port(), "scanner@office.test", LegacyClient.sampleMessage("old"),
                    "admin@office.test");
            await("expiry", () -> hasEvent(relay, "message.dead"));
            assertTrue(relay.audit("message.dead").get(0).get("reason").asText().contains("expired"));
            assertFalse(relay.audit("message.dead").get(0).get("bounced").asBoolean(), "bounces are off by default");
        }
    }

    @Test
    void aRestartDeliversWhatIsAlreadyQueued() throws Exception {
        int port = Catchers.unusedPort();
        Map<String, String> s = spoolSettings(port);
        try (RelayFixture first = RelayFixture.start(dir, s)) {
            for (int i = 0; i < 3; i++) {
                LegacyClient.send(first.port(), "scanner@office.test", LegacyClient.sampleMessage("restart " + i),
                        "admin@office.test");
            }
            first.relay.drainAndStop();
        }
        assertEquals(3, Files.list(dir.resolve("spool/queue")).filter(p -> p.toString().endsWith(".json")).count());
        try (Catcher upstream = Catchers.startOn(port, dir.resolve("caught"), TlsMode.STARTTLS, pki.good(),
                Optional.empty());
                RelayFixture second = RelayFixture.start(dir, s)) {
            assertTrue(upstream.awaitMessages(3, Duration.ofSeconds(30)));
            await("an empty queue", () -> second.relay.queue().orElseThrow().queued() == 0);
        }
    }

    @Test
    void aFullQueueSays452InsteadOfTakingMail() throws Exception {
        Map<String, String> s = spoolSettings(Catchers.unusedPort());
        s.put("spool.max-messages", "1");
        s.put("spool.retry.initial", "1h");
        s.put("spool.retry.max-interval", "1h");
        try (RelayFixture relay = RelayFixture.start(dir, s); RawSmtp c = RawSmtp.connect(relay.port())) {
            LegacyClient.send(relay.port(), "scanner@office.test", LegacyClient.sampleMessage("one"),
                    "admin@office.test");
            c.reply();
            c.command("EHLO scanner.lan");
            String mail = c.command("MAIL FROM:<scanner@office.test>");
            assertTrue(mail.startsWith("452 4.3.1"), mail);
        }
    }

    @Test
    void oneSpoolHasOneOwner() throws Exception {
        Map<String, String> s = spoolSettings(Catchers.unusedPort());
        try (RelayFixture relay = RelayFixture.start(dir, s)) {
            SpoolInUseException e = assertThrows(SpoolInUseException.class, () -> RelayFixture.start(dir, s));
            assertTrue(e.getMessage().contains("in use by another running tlsrelay"));
        }
    }

    @Test
    void anInterruptedSubmissionLeavesNothingBehind() throws Exception {
        Map<String, String> s = spoolSettings(Catchers.unusedPort());
        try (RelayFixture relay = RelayFixture.start(dir, s)) {
            try (RawSmtp c = RawSmtp.connect(relay.port())) {
                c.reply();
                c.command("EHLO scanner.lan");
                c.command("MAIL FROM:<scanner@office.test>");
                c.command("RCPT TO:<admin@office.test>");
                c.command("DATA");
                c.sendRaw("Subject: cut\r\n\r\nhalf a message".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            } // connection dropped mid-DATA
            Thread.sleep(500);
            assertEquals(0, Files.list(dir.resolve("spool/queue")).count());
            assertEquals(0, Files.list(dir.resolve("spool/tmp")).count());
            assertTrue(relay.audit("message.queued").isEmpty());
        }
    }
}
