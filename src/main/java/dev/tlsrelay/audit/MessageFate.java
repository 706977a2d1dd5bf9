package dev.tlsrelay.audit;

/**
 * What became of a message, seen from the device: the relay's reply to it decides. A 4xx reply (or
 * none: the connection was lost) leaves the message with the device, which retries; a 5xx tells the
 * device to give up.
 */
public enum MessageFate {
    /** {@code message.relayed}: the upstream took it. */
    RELAYED,
    /** {@code message.failed} answered with 4xx, or not answered: the device still holds it and retries. */
    DEFERRED,
    /** {@code message.failed} answered with 5xx: the device was told it cannot be sent. */
    FAILED;

    /** The word used in summaries and reports. */
    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    static MessageFate of(AuditRecord r) {
        if (r.event().equals("message.relayed")) {
            return RELAYED;
        }
        return r.json().path("reply_code").asInt(0) >= 500 ? FAILED : DEFERRED;
    }
}
