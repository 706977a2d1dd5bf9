package dev.tlsrelay.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.AuditScenario;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsNegotiation;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code summary} and {@code search} on a real log ({@link AuditScenario}: six relay runs against good,
 * misnamed, expired and absent smarthosts). Every number is checked against a count the test makes
 * itself from the raw JSON lines.
 */
@Timeout(120)
class AuditReviewTest {

    @TempDir
    Path dir;

    @Test
    void summaryNumbersEqualCountsMadeFromTheLines() throws Exception {
        AuditScenario sc = AuditScenario.get();
        List<JsonNode> lines = sc.lines();
        Instant now = Instant.now();

        Summary s = AuditSummary.summarize(sc.files(), TimeWindow.ALL, now);

        List<JsonNode> hs = events(lines, "tls.handshake");
        List<JsonNode> ok = hs.stream().filter(field("outcome", "ok")).toList();
        List<JsonNode> failed = hs.stream().filter(field("outcome", "failed")).toList();
        assertEquals(lines.size(), s.events());
        assertEquals(hs.size(), s.handshakes());
        assertEquals(countBy(hs, "direction"), new TreeMap<>(s.handshakesByDirection()));
        assertEquals(countBy(hs, "outcome"), new TreeMap<>(s.handshakesByOutcome()));
        assertEquals(countBy(ok, "protocol"), new TreeMap<>(s.handshakesByProtocol()));
        assertEquals(countBy(ok, "cipher"), new TreeMap<>(s.handshakesByCipher()));
        assertEquals(countBy(failed, "failure"), new TreeMap<>(s.failuresByCode()));
        assertEquals(failed.stream().collect(Collectors.groupingBy(
                        j -> j.get("peer_host").asText() + ":" + j.get("peer_port").asText(), TreeMap::new,
                        Collectors.counting())), new TreeMap<>(s.failuresByPeer()));

        List<JsonNode> relayed = events(lines, "message.relayed");
        List<JsonNode> notRelayed = events(lines, "message.failed");
        Predicate<JsonNode> refused = j -> j.path("reply_code").asInt(0) >= 500;
        assertEquals(relayed.size(), s.messageCount(MessageFate.RELAYED));
        assertEquals(notRelayed.stream().filter(refused.negate()).count(), s.messageCount(MessageFate.DEFERRED));
        assertEquals(notRelayed.stream().filter(refused).count(), s.messageCount(MessageFate.FAILED));
        for (Map.Entry<String, Summary.ClientMessages> e : s.messagesByClient().entrySet()) {
            Predicate<JsonNode> client = field("client", e.getKey());
            assertEquals(relayed.stream().filter(client).count(), e.getValue().relayed(), e.getKey());
            assertEquals(notRelayed.stream().filter(client.and(refused.negate())).count(), e.getValue().deferred());
            assertEquals(notRelayed.stream().filter(client.and(refused)).count(), e.getValue().failed());
        }
        assertEquals(events(lines, "message.").stream().map(j -> j.get("client").asText()).distinct().count(),
                s.messagesByClient().size());
        assertEquals(events(lines, "audit.started").size(), s.starts());
        assertEquals(0, s.uncleanStarts());

        // What the scenario did, so the counts above are known to cover every case.
        assertEquals(Map.of("hostname_mismatch", 2L, "cert_expired", 1L, "connect_failed", 1L), s.failuresByCode());
        assertEquals(List.of(6L, 4L, 1L), List.of(s.messageCount(MessageFate.RELAYED),
                s.messageCount(MessageFate.DEFERRED), s.messageCount(MessageFate.FAILED)));
        assertEquals(new Summary.ClientMessages(4, 1, 0), s.messagesByClient().get("127.0.0.1"));
        assertEquals(new Summary.ClientMessages(2, 1, 0), s.messagesByClient().get("127.0.0.2"));
        assertEquals(new Summary.ClientMessages(0, 2, 0), s.messagesByClient().get("127.0.0.3"));
        assertEquals(new Summary.ClientMessages(0, 0, 1), s.messagesByClient().get("127.0.0.4"));
        assertEquals(11, s.handshakes(), "one upstream connection per transaction");

        // Certificates: the three served, with expiry measured from now.
        assertEquals(hs.stream().filter(j -> j.has("cert_sha256")).map(j -> j.get("cert_sha256").asText()).distinct()
                .count(), s.certificates().size());
        Summary.CertificateSeen longLived = cert(s, sc.longLived.certificate());
        Summary.CertificateSeen soon = cert(s, sc.expiringSoon.certificate());
        Summary.CertificateSeen expired = cert(s, sc.expired.certificate());
        assertFalse(longLived.expiringSoon());
        assertTrue(longLived.daysLeft() >= 198 && longLived.daysLeft() <= 200, "" + longLived.daysLeft());
        assertTrue(soon.expiringSoon());
        assertTrue(soon.daysLeft() >= 10 && soon.daysLeft() <= 12, "" + soon.daysLeft());
        assertTrue(expired.expiringSoon() && expired.daysLeft() < 0);
        assertEquals(0, expired.verified());
        assertEquals(1, expired.refused());
        assertEquals(6, longLived.verified(), "five relayed over it, and the one refused later for its size");
        assertEquals(1, soon.verified());

        // No mail left without TLS, and the summary says so in words.
        assertEquals(0, s.relayedWithoutTls());
        String text = SummaryText.text(s, ChainVerifier.verify(sc.files(), Optional.empty()));
        assertTrue(text.contains("Messages relayed without verified TLS 1.2+: 0. Every one of the 6 relayed"
                + " message(s) followed a successful TLS 1.2+ upstream handshake in its session."), text);
        assertTrue(text.contains("chain: intact"), text);
        assertTrue(text.contains("WARNING: certificate CN=soon.localhost"), text);
    }

    @Test
    void summaryWindowCountsOnlyTheEventsInside() throws Exception {
        AuditScenario sc = AuditScenario.get();
        List<JsonNode> lines = sc.lines();
        // From the third relay start on: the implicit-TLS run and everything after it.
        Instant since = Instant.parse(events(lines, "audit.started").get(2).get("ts").asText());
        List<JsonNode> inside = lines.stream().filter(j -> !Instant.parse(j.get("ts").asText()).isBefore(since))
                .toList();

        Summary s = AuditSummary.summarize(sc.files(), new TimeWindow(Optional.of(since), Optional.empty()),
                Instant.now());

        assertEquals(inside.size(), s.events());
        assertEquals(events(inside, "tls.handshake").size(), s.handshakes());
        assertEquals(events(inside, "message.relayed").size(), s.messageCount(MessageFate.RELAYED));
        assertEquals(1, s.messageCount(MessageFate.RELAYED));
        assertEquals(0, s.relayedWithoutTls());
    }

    @Test
    void mailWithoutAVerifiedHandshakeWouldBeReportedOneByOne() throws Exception {
        // The relay cannot produce such a line; written here through the audit writer to prove the check bites.
        Path audit = dir.resolve("forged.jsonl");
        Instant t = Instant.parse("2026-05-01T10:00:00Z");
        try (AuditLog log = AuditLog.open(audit)) {
            log.write(new AuditEvent.Handshake("GOOD", negotiation(t, Optional.empty(), "TLSv1.3")));
            log.write(message(t.plusSeconds(1), "GOOD"));
            log.write(message(t.plusSeconds(2), "NOHANDSHAKE"));
            log.write(new AuditEvent.Handshake("FAILED", negotiation(t, Optional.of(FailureCode.HOSTNAME_MISMATCH), "")));
            log.write(message(t.plusSeconds(3), "FAILED"));
            log.write(new AuditEvent.Handshake("OLD", negotiation(t, Optional.empty(), "TLSv1.1")));
            log.write(message(t.plusSeconds(4), "OLD"));
        }

        Summary s = AuditSummary.summarize(List.of(audit), TimeWindow.ALL, t);

        assertEquals(3, s.relayedWithoutTls());
        assertEquals(List.of("NOHANDSHAKE", "FAILED", "OLD"), s.withoutTls().stream().map(Summary.Unprotected::session)
                .toList());
        assertTrue(s.withoutTls().get(1).why().contains("hostname_mismatch"));
        assertTrue(s.withoutTls().get(2).why().contains("TLSv1.1"));
        assertTrue(SummaryText.tlsVerdict(s).startsWith("WARNING: 3 of the 4 relayed message(s) did NOT follow"));
    }

    @Test
    void searchFiltersMatchWhatTheLinesSay() throws Exception {
        AuditScenario sc = AuditScenario.get();
        List<JsonNode> lines = sc.lines();
        String misnamed = events(lines, "tls.handshake").stream().filter(field("failure", "hostname_mismatch"))
                .findFirst().orElseThrow().get("session").asText();

        List<AuditRecord> bySession = search(sc, q -> q.session = misnamed);
        assertEquals(List.of("tls.handshake", "message.failed"), bySession.stream().map(AuditRecord::event).toList());
        assertTrue(bySession.get(0).describe().contains("failed hostname_mismatch"), bySession.get(0).describe());

        assertEquals(lines.stream().filter(field("client", "127.0.0.2")).count(),
                search(sc, q -> q.client = "127.0.0.2").size());
        assertEquals(3, search(sc, q -> q.client = "127.0.0.2").size());
        assertEquals(lines.stream().filter(field("mail_from", "scanner@office.test")).count(),
                search(sc, q -> q.sender = "<Scanner@OFFICE.test>").size(), "senders match in any case");
        assertEquals(lines.stream().filter(field("failure", "hostname_mismatch")).count(),
                search(sc, q -> q.failure = "hostname_mismatch").size());
        assertEquals(4, search(sc, q -> q.failure = "hostname_mismatch").size(), "two handshakes, two messages");
        assertEquals(events(lines, "message.").size(), search(sc, q -> q.event = "message").size());
        assertEquals(events(lines, "tls.handshake").size(), search(sc, q -> q.event = "tls.handshake").size());
        List<AuditRecord> both = search(sc, q -> {
            q.client = "127.0.0.1";
            q.event = "message.failed";
        });
        assertEquals(1, both.size());
        assertEquals("connect_failed", both.get(0).text("failure"));
        assertEquals(0, search(sc, q -> q.since = Instant.now().plus(Duration.ofDays(1))).size());
        assertEquals(lines.size(), search(sc, q -> { }).size(), "no filter: every line");
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static final class Q {
        String session;
        String client;
        String sender;
        String failure;
        String event;
        Instant since;
    }

    private static List<AuditRecord> search(AuditScenario sc, java.util.function.Consumer<Q> fill) throws Exception {
        Q q = new Q();
        fill.accept(q);
        List<AuditRecord> out = new ArrayList<>();
        AuditSearch.search(sc.files(), new AuditSearch.Query(Optional.ofNullable(q.session),
                Optional.ofNullable(q.client), Optional.ofNullable(q.sender), Optional.empty(),
                Optional.ofNullable(q.failure), Optional.ofNullable(q.event),
                new TimeWindow(Optional.ofNullable(q.since), Optional.empty())), Optional.empty(), out::add);
        return out;
    }

    private static List<JsonNode> events(List<JsonNode> lines, String prefix) {
        return lines.stream().filter(j -> j.get("event").asText().startsWith(prefix)).toList();
    }

    private static Predicate<JsonNode> field(String name, String value) {
        return j -> j.path(name).asText().equals(value);
    }

    private static TreeMap<String, Long> countBy(List<JsonNode> lines, String field) {
        return lines.stream().collect(Collectors.groupingBy(j -> j.path(field).asText(), TreeMap::new,
                Collectors.counting()));
    }

    private static Summary.CertificateSeen cert(Summary s, java.security.cert.X509Certificate c) throws Exception {
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        return s.certificates().stream().filter(x -> x.sha256().equals(sha)).findFirst()
                .orElseThrow(() -> new AssertionError("certificate " + sha + " not in the summary"));
    }

    static TlsNegotiation negotiation(Instant at, Optional<FailureCode> failure, String protocol) {
        return new TlsNegotiation(TlsNegotiation.Direction.UPSTREAM, "smtp.test", 587, TlsMode.STARTTLS, at,
                Duration.ofMillis(40), failure.isPresent() ? TlsNegotiation.Outcome.FAILED : TlsNegotiation.Outcome.OK,
                failure, failure.map(f -> "test"), protocol.isEmpty() ? Optional.empty() : Optional.of(protocol),
                protocol.isEmpty() ? Optional.empty() : Optional.of("TLS_AES_128_GCM_SHA256"), Optional.empty());
    }

    static AuditEvent.Message message(Instant at, String session) {
        return new AuditEvent.Message(at, session, "10.0.0.9", "printer@office.test", List.of("admin@office.test"), 1,
                100, true, OptionalInt.of(250), Optional.of("250 ok"), Optional.empty(), Optional.empty());
    }
}
