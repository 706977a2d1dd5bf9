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
            Optional<String> reason) implements AuditEvent {}
}
