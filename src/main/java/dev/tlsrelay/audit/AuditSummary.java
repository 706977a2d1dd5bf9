package dev.tlsrelay.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads audit files once and counts what a reviewer asks about. Memory stays bounded by the number
 * of distinct clients, peers, certificates and time buckets, not by the size of the log.
 *
 * <p>"Relayed without TLS" is decided per message: a {@code message.relayed} line is protected when the
 * last {@code tls.handshake} line of the same session (or, for a message sent over a reused connection,
 * of the session named in its {@code tls_session}) before it has {@code direction} upstream,
 * {@code outcome} ok and {@code protocol} TLSv1.2 or TLSv1.3. The relay opens its upstream connection
 * (and writes that handshake line) before it sends anything, so any other case is a finding.
 */
public final class AuditSummary {

    /** How many unprotected messages are listed one by one. */
    public static final int EXAMPLES = 100;
    /** Sessions remembered for pairing messages with handshakes; a message comes seconds after its handshake. */
    private static final int SESSIONS = 100_000;
    private static final Set<String> TLS_12_PLUS = Set.of("TLSv1.2", "TLSv1.3");

    private final TimeWindow window;
    private final Instant now;

    private long events;
    private Instant first;
    private Instant last;
    private long starts;
    private long uncleanStarts;
    private long handshakes;
    private final Map<String, Long> byDirection = new HashMap<>();
    private final Map<String, Long> byOutcome = new HashMap<>();
    private final Map<String, Long> byProtocol = new HashMap<>();
    private final Map<String, Long> byCipher = new HashMap<>();
    private final Map<String, Long> failuresByCode = new HashMap<>();
    private final Map<String, Long> failuresByPeer = new HashMap<>();
    private final Map<MessageFate, Long> messages = new EnumMap<>(MessageFate.class);
    private final Map<String, long[]> byClient = new HashMap<>();
    private final Map<String, CertAcc> certificates = new HashMap<>();
    private long withoutTlsCount;
    private final List<Summary.Unprotected> withoutTls = new ArrayList<>();
    private final TreeMap<Instant, long[]> hourOutcomes = new TreeMap<>();
    private final Map<Instant, Map<String, Long>> hourProtocols = new HashMap<>();
    /** The last upstream handshake of each recent session: ok with TLS 1.2+ or not, and why not. */
    private final LinkedHashMap<String, String> lastHandshake = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > SESSIONS;
        }
    };

    private AuditSummary(TimeWindow window, Instant now) {
        this.window = window;
        this.now = now;
    }

    /**
     * Summarises the events of {@code files} inside {@code window}.
     *
     * @param now the time certificate expiry is measured from
     */
    public static Summary summarize(List<Path> files, TimeWindow window, Instant now) throws IOException {
        AuditSummary s = new AuditSummary(window, now);
        AuditRecord.read(files, s::add);
        return s.result();
    }

    private void add(AuditRecord r) {
        // Pairing looks at every line, so a handshake just before the window still protects a message in it.
        String protection = r.isHandshake() ? protection(r) : null;
        if (protection != null) {
            lastHandshake.remove(r.text("session"));
            lastHandshake.put(r.text("session"), protection);
        }
        if (!window.contains(r.ts())) {
            return;
        }
        events++;
        first = first == null || r.ts().isBefore(first) ? r.ts() : first;
        last = last == null || r.ts().isAfter(last) ? r.ts() : last;
        switch (r.event()) {
            case "audit.started" -> {
                starts++;
                if (r.text("previous").equals("no-stop-record")) {
                    uncleanStarts++;
                }
            }
            case "tls.handshake" -> handshake(r);
            case "message.relayed", "message.failed" -> message(r);
            default -> { }
        }
    }

    /** "" when this handshake protects what follows in its session, else why not. */
    private static String protection(AuditRecord r) {
        if (!r.text("direction").equals("upstream")) {
            return null; // an inbound handshake says nothing about the upstream leg
        }
        if (!r.text("outcome").equals("ok")) {
            return "the session's last upstream handshake failed (" + r.text("failure") + ")";
        }
        if (!TLS_12_PLUS.contains(r.text("protocol"))) {
            return "the session's last upstream handshake negotiated " + r.text("protocol");
        }
        return "";
    }

    private void handshake(AuditRecord r) {
        handshakes++;
        boolean ok = r.text("outcome").equals("ok");
        count(byDirection, r.text("direction"));
        count(byOutcome, r.text("outcome"));
        Instant bucket = bucketOf(r.ts());
        long[] outcomes = hourOutcomes.computeIfAbsent(bucket, k -> new long[2]);
        outcomes[ok ? 0 : 1]++;
        if (ok) {
            count(byProtocol, r.text("protocol"));
            count(byCipher, r.text("cipher"));
            count(hourProtocols.computeIfAbsent(bucket, k -> new HashMap<>()), r.text("protocol"));
        } else {
            count(failuresByCode, r.text("failure"));
            count(failuresByPeer, r.text("peer_host") + ":" + r.text("peer_port"));
        }
        if (r.json().hasNonNull("cert_sha256") && r.json().hasNonNull("cert_not_after")) {
            try {
                CertAcc c = certificates.computeIfAbsent(r.text("cert_sha256"), k -> new CertAcc(r));
                c.seen(r, ok);
            } catch (DateTimeParseException e) {
                // A certificate line without a readable date cannot be placed on the expiry timeline.
            }
        }
    }

    private void message(AuditRecord r) {
        MessageFate fate = MessageFate.of(r);
        messages.merge(fate, 1L, Long::sum);
        byClient.computeIfAbsent(r.text("client"), k -> new long[3])[fate.ordinal()]++;
        if (fate == MessageFate.RELAYED) {
            // A reused upstream connection was negotiated in the session named by tls_session.
            String negotiatedIn = r.text("tls_session").isEmpty() ? r.text("session") : r.text("tls_session");
            String why = lastHandshake.get(negotiatedIn);
            if (why == null) {
                why = "no upstream handshake of this session precedes it";
            }
            if (!why.isEmpty()) {
                withoutTlsCount++;
                if (withoutTls.size() < EXAMPLES) {
                    withoutTls.add(new Summary.Unprotected(r.file(), r.line(), r.ts(), r.text("session"), why));
                }
            }
        }
    }

    private Summary.BucketSize bucketSize() {
        Instant from = window.since().orElse(first);
        Instant to = window.until().orElse(last);
        if (from == null || to == null) {
            return Summary.BucketSize.HOUR;
        }
        return Duration.between(from, to).compareTo(Duration.ofDays(7)) > 0 ? Summary.BucketSize.DAY
                : Summary.BucketSize.HOUR;
    }

    /** Counted per hour while reading; merged into days at the end when the period is long. */
    private static Instant bucketOf(Instant t) {
        return t.truncatedTo(ChronoUnit.HOURS);
    }

    private Summary result() {
        Summary.BucketSize size = bucketSize();
        TreeMap<Instant, Summary.Bucket> buckets = new TreeMap<>();
        for (Map.Entry<Instant, long[]> e : hourOutcomes.entrySet()) {
            Instant key = size == Summary.BucketSize.DAY ? e.getKey().truncatedTo(ChronoUnit.DAYS) : e.getKey();
            Summary.Bucket old = buckets.getOrDefault(key, new Summary.Bucket(0, 0, Map.of()));
            Map<String, Long> protocols = new TreeMap<>(old.protocols());
            hourProtocols.getOrDefault(e.getKey(), Map.of()).forEach((p, n) -> protocols.merge(p, n, Long::sum));
            buckets.put(key, new Summary.Bucket(old.ok() + e.getValue()[0], old.failed() + e.getValue()[1],
                    protocols));
        }
        Map<String, Summary.ClientMessages> clients = new LinkedHashMap<>();
        byClient.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), new Summary.ClientMessages(e.getValue()[0], e.getValue()[1],
                        e.getValue()[2])))
                .sorted(Comparator.comparingLong((Map.Entry<String, Summary.ClientMessages> e) -> -e.getValue().total())
                        .thenComparing(Map.Entry::getKey))
                .forEach(e -> clients.put(e.getKey(), e.getValue()));
        Map<MessageFate, Long> fates = new EnumMap<>(MessageFate.class);
        for (MessageFate f : MessageFate.values()) {
            fates.put(f, messages.getOrDefault(f, 0L));
        }
        List<Summary.CertificateSeen> certs = certificates.values().stream().map(CertAcc::result)
                .sorted(Comparator.comparing(Summary.CertificateSeen::notAfter)).toList();
        return new Summary(window, now, events, Optional.ofNullable(first), Optional.ofNullable(last), starts,
                uncleanStarts, handshakes, sorted(byDirection), sorted(byOutcome), sorted(byProtocol),
                sorted(byCipher), sorted(failuresByCode), sorted(failuresByPeer), fates, clients, certs,
                withoutTlsCount, List.copyOf(withoutTls), size, buckets);
    }

    private static void count(Map<String, Long> map, String key) {
        map.merge(key.isEmpty() ? "(none)" : key, 1L, Long::sum);
    }

    /** Largest count first, then by name, so output is stable. */
    private static Map<String, Long> sorted(Map<String, Long> map) {
        Map<String, Long> out = new LinkedHashMap<>();
        map.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** What is known about one certificate so far. */
    private final class CertAcc {
        final String sha256;
        final String subject;
        final String issuer;
        final Optional<Instant> notBefore;
        final Instant notAfter;
        final Set<String> peers = new LinkedHashSet<>();
        Instant firstSeen;
        Instant lastSeen;
        long verified;
        long refused;

        CertAcc(AuditRecord r) {
            JsonNode j = r.json();
            sha256 = r.text("cert_sha256");
            subject = r.text("cert_subject");
            issuer = r.text("cert_issuer");
            notBefore = j.hasNonNull("cert_not_before") ? Optional.of(Instant.parse(r.text("cert_not_before")))
                    : Optional.empty();
            notAfter = Instant.parse(r.text("cert_not_after"));
        }

        void seen(AuditRecord r, boolean ok) {
            peers.add(r.text("peer_host") + ":" + r.text("peer_port"));
            firstSeen = firstSeen == null || r.ts().isBefore(firstSeen) ? r.ts() : firstSeen;
            lastSeen = lastSeen == null || r.ts().isAfter(lastSeen) ? r.ts() : lastSeen;
            if (ok) {
                verified++;
            } else {
                refused++;
            }
        }

        Summary.CertificateSeen result() {
            long daysLeft = Math.floorDiv(Duration.between(now, notAfter).toSeconds(), 86_400L);
            boolean soon = notAfter.isBefore(now.plus(Duration.ofDays(Summary.EXPIRY_WARNING_DAYS)));
            return new Summary.CertificateSeen(sha256, subject, issuer, notBefore, notAfter, List.copyOf(peers),
                    firstSeen, lastSeen, verified, refused, daysLeft, soon);
        }
    }
}
