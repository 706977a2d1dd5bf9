package dev.tlsrelay.audit;

import dev.tlsrelay.tls.TlsNegotiation;
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
     * @param recipients    every RCPT the client gave, in order (accepted or not)
     * @param rcptAccepted  recipients the upstream accepted
     * @param relayed       the upstream accepted it for at least one recipient
     * @param replyCode     the code of the relay's last reply to the client in this transaction (the answer
     *                      to DATA, or the refusal that ended it); empty when the client got no final answer
     * @param upstreamReply the upstream's final reply line, if it gave one
     * @param reason        for a failure, what went wrong in plain words
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
            Optional<String> reason) implements AuditEvent {

        public Message {
            recipients = List.copyOf(recipients);
        }
    }
}
