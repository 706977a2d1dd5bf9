package dev.tlsrelay.audit;

import dev.tlsrelay.tls.TlsNegotiation;
import java.time.Instant;
import java.util.Optional;

/** The events of the audit log. Each becomes one JSON line; field names are stable. */
public sealed interface AuditEvent {

    /** When it happened. */
    Instant at();

    /** The client session it belongs to (also on the session's message events). */
    String session();

    /** {@code tls.handshake}: one TLS negotiation, successful or not. */
    record Handshake(String session, TlsNegotiation negotiation) implements AuditEvent {
        @Override
        public Instant at() {
            return negotiation.at();
        }
    }

    /**
     * {@code message.relayed} or {@code message.failed}: the fate of one message.
     *
     * @param relayed      the upstream accepted it for at least one recipient
     * @param rcptAccepted recipients the upstream accepted
     * @param upstreamReply the upstream's final reply line, if it gave one
     * @param reason       for a failure, what went wrong in plain words
     * @param connectionReused the upstream connection had carried earlier messages (its TLS
     *                     negotiation is audited with the session that opened it)
     * @param upstreamTime from asking for an upstream connection to the upstream's final reply
     */
    record Message(
            Instant at,
            String session,
            String client,
            String mailFrom,
            int rcptCount,
            int rcptAccepted,
            long size,
            boolean relayed,
            Optional<String> upstreamReply,
            Optional<String> failure,
            Optional<String> reason,
            Optional<String> queueId,
            boolean connectionReused,
            Optional<java.time.Duration> upstreamTime) implements AuditEvent {}

    /** {@code message.queued}: a message is safely in the spool and its client got 250. */
    record Queued(Instant at, String session, String queueId, String client, String mailFrom, int rcptCount,
            long size) implements AuditEvent {}

    /**
     * {@code message.deferred}: a delivery attempt from the spool failed temporarily.
     *
     * @param attempt     the attempt that failed (1 = first)
     * @param nextAttempt when the next one is due
     */
    record Deferred(Instant at, String session, String queueId, int attempt, Instant nextAttempt, String reason,
            Optional<String> failure) implements AuditEvent {}

    /** {@code message.dead}: the relay gave up on a message (5xx or too old); it is in {@code spool.dir/dead/}. */
    record Dead(Instant at, String session, String queueId, int attempts, String reason, int rcptFailed,
            boolean bounced) implements AuditEvent {}
}
