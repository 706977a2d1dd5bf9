package dev.tlsrelay.spool;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A message in the spool: its envelope, what happened to each recipient so far, and when to try
 * next. Immutable; {@link Spool#update} stores a new version atomically.
 *
 * @param id          spool id, sortable by arrival
 * @param sessionId   the client session that submitted it (shared with its audit events)
 * @param size        bytes of the stored message (trace header included)
 * @param attempts    delivery attempts made so far
 * @param lastError   the reason of the last failed attempt
 * @param lastFailure the stable TLS failure code of the last attempt, when TLS was the cause
 */
public record QueuedMessage(
        String id,
        String sessionId,
        String clientAddress,
        String sender,
        List<Recipient> recipients,
        Instant receivedAt,
        long size,
        int attempts,
        Instant nextAttempt,
        Optional<String> lastError,
        Optional<String> lastFailure) {

    public QueuedMessage {
        recipients = List.copyOf(recipients);
    }

    /** Where a recipient stands. */
    public enum State {
        PENDING,
        DELIVERED,
        FAILED
    }

    /**
     * One recipient and the upstream's last word on it.
     *
     * @param reply the last reply line for this recipient, if any
     */
    public record Recipient(String address, State state, Optional<String> reply) {
        public static Recipient pending(String address) {
            return new Recipient(address, State.PENDING, Optional.empty());
        }
    }

    /** The sender and every recipient: what a redacting log must not show in clear. */
    public List<String> addresses() {
        return Stream.concat(Stream.of(sender), recipients.stream().map(Recipient::address)).toList();
    }

    public List<String> pendingAddresses() {
        return recipients.stream().filter(r -> r.state() == State.PENDING).map(Recipient::address).toList();
    }

    public List<Recipient> failedRecipients() {
        return recipients.stream().filter(r -> r.state() == State.FAILED).toList();
    }

    public boolean hasPending() {
        return recipients.stream().anyMatch(r -> r.state() == State.PENDING);
    }

    public Duration age(Instant now) {
        return Duration.between(receivedAt, now);
    }

    /** This message after an attempt, with the recipients' new states and the next try. */
    public QueuedMessage afterAttempt(List<Recipient> newRecipients, Instant next, Optional<String> error,
            Optional<String> failure) {
        return new QueuedMessage(id, sessionId, clientAddress, sender, newRecipients, receivedAt, size, attempts + 1,
                next, error, failure);
    }

    /** This message, due now (for {@code queue retry}). */
    public QueuedMessage dueNow(Instant now) {
        return new QueuedMessage(id, sessionId, clientAddress, sender, recipients, receivedAt, size, attempts, now,
                lastError, lastFailure);
    }
}
