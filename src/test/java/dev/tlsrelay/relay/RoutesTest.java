package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.catcher.CaughtMessage;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.ThrottlingUpstream;
import dev.tlsrelay.tls.TlsMode;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Several real TLS upstreams at once: routing by sender, recipient domain and client; limits; throttling. */
@Timeout(120)
class RoutesTest {

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();
    private Catcher fallback;
    private Catcher scans;
    private Catcher partner;
    private Catcher lab;

    @BeforeEach
    void upstreams() throws Exception {
        fallback = Catchers.start(dir.resolve("fallback"), TlsMode.STARTTLS, pki.good());
        scans = Catchers.start(dir.resolve("scans"), TlsMode.STARTTLS, pki.good());
        partner = Catchers.start(dir.resolve("partner"), TlsMode.IMPLICIT, pki.good());
        lab = Catchers.start(dir.resolve("lab"), TlsMode.STARTTLS, pki.good());
    }

    @AfterEach
    void stop() {
        List.of(fallback, scans, partner, lab).forEach(Catcher::close);
    }

    private Map<String, String> settings(String mode) throws Exception {
        String ca = pki.writeCa(dir).toString();
        Map<String, String> s = new HashMap<>();
        s.put("delivery.mode", mode);
        s.put("spool.retry.initial", "200ms");
        s.put("spool.retry.max-interval", "400ms");
        s.put("upstream.host", "127.0.0.1");
        s.put("upstream.port", String.valueOf(fallback.port()));
        s.put("upstream.tls.ca-file", ca);
        s.put("route.scans.senders", "scans@corp.test");
        s.put("route.scans.host", "127.0.0.1");
        s.put("route.scans.port", String.valueOf(scans.port()));
        s.put("route.scans.tls.ca-file", ca);
        s.put("route.partner.recipient-domains", "partner.test");
        s.put("route.partner.hosts", "127.0.0.1:" + partner.port() + "/implicit");
        s.put("route.partner.tls.ca-file", ca);
        s.put("route.lab.clients", "127.0.0.2/32");
        s.put("route.lab.host", "127.0.0.1");
        s.put("route.lab.port", String.valueOf(lab.port()));
        s.put("route.lab.tls.ca-file", ca);
        return s;
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private static String send(RawSmtp c, String from, String... to) throws Exception {
        c.command("EHLO device.lan");
        String r = c.command("MAIL FROM:<" + from + ">");
        if (!r.startsWith("250")) {
            return r;
        }
        for (String t : to) {
            r = c.command("RCPT TO:<" + t + ">");
        }
        c.command("DATA");
        return c.command("Subject: routed\r\n\r\nhello\r\n.");
    }

    @Test
    void passThroughRoutesBySenderRecipientDomainAndClient() throws Exception {
        try (RelayFixture relay = RelayFixture.start(dir, settings("pass-through"))) {
            byte[] raw = LegacyClient.sampleMessage("routes");
            LegacyClient.send(relay.port(), "scans@corp.test", raw, "admin@office.test");
            LegacyClient.send(relay.port(), "printer@corp.test", raw, "bob@partner.test");
            LegacyClient.send(relay.port(), "printer@corp.test", raw, "admin@office.test");
            try (RawSmtp c = RawSmtp.connect(relay.port(), InetAddress.getByName("127.0.0.2"))) {
                c.reply();
                assertTrue(send(c, "app@corp.test", "admin@office.test").startsWith("250"));
            }
            assertEquals("scans@corp.test", only(scans).mailFrom());
            assertEquals(List.of("bob@partner.test"), only(partner).recipients());
            assertEquals("printer@corp.test", only(fallback).mailFrom());
            assertEquals("app@corp.test", only(lab).mailFrom());

            List<JsonNode> relayed = relay.awaitAudit("message.relayed", 4, Duration.ofSeconds(10));
            assertEquals(List.of("scans", "partner", "default", "lab"),
                    relayed.stream().map(n -> n.path("route").asText()).toList());
        }
    }

    @Test
    void passThroughRefusesARecipientOfAnotherRouteSoTheClientSendsItSeparately() throws Exception {
        try (RelayFixture relay = RelayFixture.start(dir, settings("pass-through"));
                RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO device.lan");
            assertTrue(c.command("MAIL FROM:<printer@corp.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<bob@partner.test>").startsWith("250"));
            String other = c.command("RCPT TO:<admin@office.test>");
            assertEquals("452 4.5.3 <admin@office.test> goes through route default, this message through route"
                    + " partner; send it in a separate message", other);
            c.command("DATA");
            assertTrue(c.command("Subject: mixed\r\n\r\nhello\r\n.").startsWith("250"));
            assertEquals(List.of("bob@partner.test"), only(partner).recipients());
            assertTrue(fallback.received().isEmpty());
        }
    }

    @Test
    void spoolSplitsAMessageWhoseRecipientsTakeDifferentRoutes() throws Exception {
        try (RelayFixture relay = RelayFixture.start(dir, settings("spool"))) {
            String reply = LegacyClient.send(relay.port(), "printer@corp.test", LegacyClient.sampleMessage("split"),
                    "bob@partner.test", "admin@office.test", "carol@partner.test");
            assertTrue(reply.startsWith("250 2.0.0 Ok: queued as"), reply);
            assertTrue(partner.awaitMessages(1, Duration.ofSeconds(20)));
            assertTrue(fallback.awaitMessages(1, Duration.ofSeconds(20)));
            assertEquals(List.of("bob@partner.test", "carol@partner.test"), only(partner).recipients());
            assertEquals(List.of("admin@office.test"), only(fallback).recipients());
            List<JsonNode> relayed = relay.awaitAudit("message.relayed", 2, Duration.ofSeconds(10));
            assertEquals(Map.of("partner", 2, "default", 1), Map.of(
                    relayed.get(0).path("route").asText(), relayed.get(0).path("rcpt_accepted").asInt(),
                    relayed.get(1).path("route").asText(), relayed.get(1).path("rcpt_accepted").asInt()));
            await("an empty queue", () -> relay.relay.queue().orElseThrow().queued() == 0);
        }
    }

    @Test
    void anOversizeMessageIsRefusedBeforeAnyUpstreamConnection() throws Exception {
        Map<String, String> s = settings("pass-through");
        s.put("route.scans.max-message-size", "1000");
        try (RelayFixture relay = RelayFixture.start(dir, s); RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO device.lan");
            assertEquals("552 5.3.4 Message too large for route scans (at most 1000 bytes); not sent",
                    c.command("MAIL FROM:<scans@corp.test> SIZE=5000"));
        }
        Files.delete(dir.resolve("audit.jsonl"));
        s.put("delivery.mode", "spool");
        try (RelayFixture relay = RelayFixture.start(dir, s); RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO device.lan");
            assertTrue(c.command("MAIL FROM:<scans@corp.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<admin@office.test>").startsWith("250"));
            c.command("DATA");
            String big = "Subject: big\r\n\r\n" + "x".repeat(100) + "\r\n";
            assertEquals("552 5.3.4 Message too large for route scans (at most 1000 bytes); not sent",
                    c.command(big.repeat(20) + "."));
            assertEquals(0, relay.relay.queue().orElseThrow().queued());
            assertTrue(relay.audit("tls.handshake").isEmpty(), "no upstream connection was opened");
            assertTrue(scans.received().isEmpty());
        }
    }

    @Test
    void aThrottlingUpstreamPausesTheRouteAndEverythingArrivesOnceAfterTheBackoff() throws Exception {
        try (ThrottlingUpstream ses = new ThrottlingUpstream(pki.good(), 3)) {
            Map<String, String> s = settings("spool");
            s.put("upstream.port", String.valueOf(ses.port()));
            s.put("upstream.rate.throttle-backoff", "300ms");
            s.put("spool.retry.initial", "30s"); // a plain deferral would outlast the test: only the backoff helps
            s.put("spool.retry.max-interval", "30s");
            try (RelayFixture relay = RelayFixture.start(dir, s)) {
                for (int i = 0; i < 6; i++) {
                    LegacyClient.send(relay.port(), "printer@corp.test", LegacyClient.sampleMessage("n" + i),
                            "admin@office.test");
                }
                await("six deliveries", () -> ses.bodies().size() >= 6);
                await("an empty queue", () -> relay.relay.queue().orElseThrow().queued() == 0);
                Thread.sleep(300);
                List<String> bodies = ses.bodies();
                assertEquals(6, bodies.size(), "nothing duplicated");
                for (int i = 0; i < 6; i++) {
                    String subject = "Subject: n" + i + "\r\n";
                    assertEquals(1, bodies.stream().filter(b -> b.contains(subject)).count(), subject);
                }
                List<JsonNode> throttled = relay.audit("route.throttled");
                assertFalse(throttled.isEmpty());
                assertEquals("default", throttled.get(0).path("route").asText());
                assertEquals("rate", throttled.get(0).path("kind").asText());
                assertEquals("454 " + ThrottlingUpstream.SES_THROTTLING, throttled.get(0).path("upstream_reply")
                        .asText());
                assertTrue(relay.audit("message.dead").isEmpty());
            }
        }
    }

    @Test
    void aRateOf120AMinuteSpacesABurstHalfASecondApart() throws Exception {
        Map<String, String> s = settings("spool");
        s.put("route.scans.rate.messages-per-minute", "120");
        try (RelayFixture relay = RelayFixture.start(dir, s)) {
            for (int i = 0; i < 7; i++) {
                LegacyClient.send(relay.port(), "scans@corp.test", LegacyClient.sampleMessage("burst" + i),
                        "admin@office.test");
            }
            assertTrue(scans.awaitMessages(7, Duration.ofSeconds(30)));
            List<Instant> at = scans.received().stream().map(CaughtMessage::at).sorted().toList();
            Duration span = Duration.between(at.get(0), at.get(6));
            // Six half-second slots between the first and the seventh, measured at the upstream.
            assertTrue(span.compareTo(Duration.ofMillis(2_700)) >= 0, "burst took only " + span);
            assertTrue(span.compareTo(Duration.ofSeconds(10)) < 0, "burst took " + span);
        }
    }

    @Test
    void theDailyRecipientQuotaHoldsAcrossARestart() throws Exception {
        Map<String, String> s = settings("spool");
        s.put("upstream.rate.recipients-per-day", "2");
        try (RelayFixture relay = RelayFixture.start(dir, s)) {
            LegacyClient.send(relay.port(), "printer@corp.test", LegacyClient.sampleMessage("d1"), "admin@office.test",
                    "boss@office.test");
            assertTrue(fallback.awaitMessages(1, Duration.ofSeconds(20)));
        }
        String day = LocalDate.now(ZoneOffset.UTC).toString();
        assertEquals(day + " 2", Files.readString(dir.resolve("spool/routes/default.day")).trim());
        Files.delete(dir.resolve("audit.jsonl"));
        try (RelayFixture relay = RelayFixture.start(dir, s)) {
            LegacyClient.send(relay.port(), "printer@corp.test", LegacyClient.sampleMessage("d2"), "admin@office.test");
            Thread.sleep(1_500);
            assertEquals(1, fallback.received().size(), "over today's quota: held in the spool");
            assertEquals(1, relay.relay.queue().orElseThrow().queued());
            assertTrue(relay.audit("message.deferred").isEmpty(), "held, not failed");
        }
    }

    /**
     * Issue 12's "done when", second half, with the route's smarthost, CA and credentials from the
     * environment: the scanner's sender goes to its own route, which verifies its own CA (the default
     * upstream's CA does not sign that smarthost), logs in with its own credentials using the
     * preset's mechanism, and keeps the preset's 30 messages a minute.
     */
    @Test
    void aSenderOfAMicrosoft365RouteGoesThereOverItsOwnVerifiedTlsAndCredentialsPacedByThePreset()
            throws Exception {
        TestPki m365Pki = new TestPki();
        Path m365Ca = m365Pki.writeCa(Files.createDirectories(dir.resolve("m365-ca")));
        Catcher.Credentials login = new Catcher.Credentials("scans@corp.test", "env-secret-7");
        try (Catcher m365 = Catchers.start(dir.resolve("m365"), TlsMode.STARTTLS, m365Pki.good(),
                java.util.Optional.of(login))) {
            Map<String, String> s = settings("spool");
            List.of("host", "port", "tls.ca-file").forEach(k -> s.remove("route.scans." + k));
            s.put("route.scans.preset", "microsoft365");
            Map<String, String> env = Map.of(
                    "TLSRELAY_ROUTE_SCANS_HOST", "127.0.0.1",
                    "TLSRELAY_ROUTE_SCANS_PORT", String.valueOf(m365.port()),
                    "TLSRELAY_ROUTE_SCANS_TLS_CA_FILE", m365Ca.toString(),
                    "TLSRELAY_ROUTE_SCANS_AUTH_USERNAME", login.username(),
                    "TLSRELAY_ROUTE_SCANS_AUTH_PASSWORD", login.password());
            try (RelayFixture relay = RelayFixture.start(dir, s, env)) {
                for (int i = 0; i < 4; i++) {
                    LegacyClient.send(relay.port(), "scans@corp.test", LegacyClient.sampleMessage("scan" + i),
                            "admin@office.test");
                }
                LegacyClient.send(relay.port(), "printer@corp.test", LegacyClient.sampleMessage("other"),
                        "admin@office.test");
                assertTrue(m365.awaitMessages(4, Duration.ofSeconds(40)), m365.received().toString());
                assertTrue(m365.received().stream().allMatch(m -> m.authUser().equals(
                        java.util.Optional.of(login.username()))), m365.received().toString());
                assertEquals("printer@corp.test", only(fallback).mailFrom());
                List<Instant> at = m365.received().stream().map(CaughtMessage::at).sorted().toList();
                Duration span = Duration.between(at.get(0), at.get(3));
                // Three two-second slots (30 a minute) between the first scan and the fourth.
                assertTrue(span.compareTo(Duration.ofMillis(5_700)) >= 0, "4 scans left within " + span);

                List<JsonNode> relayed = relay.awaitAudit("message.relayed", 5, Duration.ofSeconds(10)).stream()
                        .filter(n -> n.path("route").asText().equals("scans")).toList();
                assertEquals(4, relayed.size());
                assertTrue(relayed.stream().allMatch(n -> n.path("auth_mechanism").asText().equals("login")),
                        relayed.toString());
                assertTrue(relay.audit("tls.handshake").stream()
                        .filter(n -> n.path("peer_port").asInt() == m365.port())
                        .allMatch(n -> n.path("outcome").asText().equals("ok")));
                assertFalse(relay.auditText().contains(login.password()));
            }
        }
    }

    private static CaughtMessage only(Catcher c) throws InterruptedException {
        assertTrue(c.awaitMessages(1, Duration.ofSeconds(20)));
        assertEquals(1, c.received().size(), c.received().toString());
        return c.received().get(0);
    }
}
