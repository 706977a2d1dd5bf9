package dev.tlsrelay.audit;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;

/**
 * What an audit log says about a period, in numbers: built by {@link AuditSummary}, printed by
 * {@link SummaryText}, drawn by {@link HtmlReport}. Count maps are ordered, largest count first.
 *
 * @param events               audit lines in the window, of any kind
 * @param starts               {@code audit.started} lines: relay starts
 * @param uncleanStarts        starts not preceded by a clean stop (crash, kill, or a cut log)
 * @param handshakesByProtocol successful handshakes by negotiated TLS version
 * @param handshakesByCipher   successful handshakes by cipher suite
 * @param failuresByPeer       failed handshakes by {@code host:port}
 * @param relayedWithoutTls    relayed messages whose session's last upstream handshake before them was
 *                             not a successful TLS 1.2+ one; the relay's design makes this zero
 * @param withoutTls           the first {@link AuditSummary#EXAMPLES} of those, to look at
 * @param buckets              handshakes per hour (per day when the window is longer than a week)
 */
public record Summary(
        TimeWindow window,
        Instant generatedAt,
        long events,
        Optional<Instant> firstEvent,
        Optional<Instant> lastEvent,
        long starts,
        long uncleanStarts,
        long handshakes,
        Map<String, Long> handshakesByDirection,
        Map<String, Long> handshakesByOutcome,
        Map<String, Long> handshakesByProtocol,
        Map<String, Long> handshakesByCipher,
        Map<String, Long> failuresByCode,
        Map<String, Long> failuresByPeer,
        Map<MessageFate, Long> messages,
        Map<String, ClientMessages> messagesByClient,
        List<CertificateSeen> certificates,
        long relayedWithoutTls,
        List<Unprotected> withoutTls,
        BucketSize bucketSize,
        SortedMap<Instant, Bucket> buckets) {

    /** Certificates expiring within this many days are flagged. */
    public static final int EXPIRY_WARNING_DAYS = 30;

    /** The messages of one client address. */
    public record ClientMessages(long relayed, long deferred, long failed) {
        public long total() {
            return relayed + deferred + failed;
        }
    }

    /**
     * An upstream certificate seen in handshakes (verified or refused).
     *
     * @param daysLeft      whole days from {@code generatedAt} to {@code notAfter}; negative once expired
     * @param expiringSoon  expired, or expiring within {@link #EXPIRY_WARNING_DAYS} days
     */
    public record CertificateSeen(
            String sha256,
            String subject,
            String issuer,
            Optional<Instant> notBefore,
            Instant notAfter,
            List<String> peers,
            Instant firstSeen,
            Instant lastSeen,
            long verified,
            long refused,
            long daysLeft,
            boolean expiringSoon) {

        public CertificateSeen {
            peers = List.copyOf(peers);
        }
    }

    /** A relayed message that did not follow a successful TLS 1.2+ handshake of its session. */
    public record Unprotected(Path file, long line, Instant ts, String session, String why) {}

    /** Time buckets of the charts. */
    public enum BucketSize {
        HOUR,
        DAY
    }

    /** Handshakes in one hour (or day): by outcome, and successful ones by TLS version. */
    public record Bucket(long ok, long failed, Map<String, Long> protocols) {}

    public long messageCount(MessageFate fate) {
        return messages.getOrDefault(fate, 0L);
    }

    /** Certificates that need attention now. */
    public List<CertificateSeen> expiringCertificates() {
        return certificates.stream().filter(CertificateSeen::expiringSoon).toList();
    }
}
