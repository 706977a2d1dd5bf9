package dev.tlsrelay.audit;

import dev.tlsrelay.tls.TlsNegotiation;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

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
     * @param recipients       every RCPT the client gave, in order (accepted or not)
     * @param rcptAccepted     recipients the upstream accepted
     * @param relayed          the upstream accepted it for at least one recipient
     * @param replyCode        the code of the relay's last reply to the client in this transaction (the
     *                         answer to DATA, or the refusal that ended it); empty when the client got no
     *                         final answer (and always in spool delivery, where the client was answered
     *                         when the message was queued)
     * @param upstreamReply    the upstream's final reply line, if it gave one
     * @param reason           for a failure, what went wrong in plain words
     * @param queueId          the spool id, for a message delivered from the spool
     * @param tlsSession       the session whose {@code tls.handshake} secured the upstream connection
     *                         used, when that is not this message's own session (a reused connection)
     * @param connectionReused the upstream connection had carried earlier messages
     * @param upstreamTime     from asking for an upstream connection to the upstream's final reply
     * @param route            the route the message (or this part of it) took; {@code default} for upstream.*
     * @param authMechanism    the SASL mechanism the upstream connection authenticated (or tried to) with:
     *                         {@code plain}, {@code login} or {@code xoauth2}; empty without AUTH
     */
    record Message(
            Instant at,
            String session,
            String client,
            String mailFrom,
            List<String> recipients,
            int rcptAccepted,
            long size,
            boolean relayed,
            OptionalInt replyCode,
            Optional<String> upstreamReply,
            Optional<String> failure,
            Optional<String> reason,
            Optional<String> queueId,
            Optional<String> tlsSession,
            boolean connectionReused,
            Optional<Duration> upstreamTime,
            Optional<String> route,
            Optional<String> authMechanism) implements AuditEvent {

        public Message {
            recipients = List.copyOf(recipients);
        }

        /** A message whose route and AUTH mechanism are not recorded. */
        public Message(Instant at, String session, String client, String mailFrom, List<String> recipients,
                int rcptAccepted, long size, boolean relayed, OptionalInt replyCode, Optional<String> upstreamReply,
                Optional<String> failure, Optional<String> reason, Optional<String> queueId,
                Optional<String> tlsSession, boolean connectionReused, Optional<Duration> upstreamTime) {
            this(at, session, client, mailFrom, recipients, rcptAccepted, size, relayed, replyCode, upstreamReply,
                    failure, reason, queueId, tlsSession, connectionReused, upstreamTime, Optional.empty(),
                    Optional.empty());
        }

        /** A message sent over a connection of its own, outside the spool. */
        public Message(Instant at, String session, String client, String mailFrom, List<String> recipients,
                int rcptAccepted, long size, boolean relayed, OptionalInt replyCode, Optional<String> upstreamReply,
                Optional<String> failure, Optional<String> reason) {
            this(at, session, client, mailFrom, recipients, rcptAccepted, size, relayed, replyCode, upstreamReply,
                    failure, reason, Optional.empty(), Optional.empty(), false, Optional.empty(), Optional.empty(),
                    Optional.empty());
        }
    }

    /** {@code message.queued}: a message is safely in the spool and its client got 250. */
    record Queued(Instant at, String session, String queueId, String client, String mailFrom,
            List<String> recipients, long size) implements AuditEvent {
        public Queued {
            recipients = List.copyOf(recipients);
        }
    }

    /**
     * {@code message.deferred}: a delivery attempt from the spool failed temporarily.
     *
     * @param attempt     the attempt that failed (1 = first)
     * @param nextAttempt when the next one is due
     * @param authMechanism the SASL mechanism the attempt's upstream connection used or tried, if any
     */
    record Deferred(Instant at, String session, String queueId, int attempt, Instant nextAttempt, String reason,
            Optional<String> failure, Optional<String> authMechanism) implements AuditEvent {

        /** An attempt that did not authenticate upstream. */
        public Deferred(Instant at, String session, String queueId, int attempt, Instant nextAttempt, String reason,
                Optional<String> failure) {
            this(at, session, queueId, attempt, nextAttempt, reason, failure, Optional.empty());
        }
    }

    /**
     * {@code route.throttled}: an upstream answered "slow down"; every session now waits for the route.
     *
     * @param route    the route that was throttled
     * @param reply    the upstream's reply line that said so
     * @param kind     what the reply means: rate, concurrency, quota or try-later
     * @param until    when the route is tried again
     */
    record RouteThrottled(Instant at, String session, String route, String reply, String kind, Instant until)
            implements AuditEvent {}

    /** {@code message.dead}: the relay gave up on a message (5xx or too old); it is in {@code spool.dir/dead/}. */
    record Dead(Instant at, String session, String queueId, int attempts, String reason, int rcptFailed,
            boolean bounced) implements AuditEvent {}
}
