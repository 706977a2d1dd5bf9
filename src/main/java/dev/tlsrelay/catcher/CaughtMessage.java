package dev.tlsrelay.catcher;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * One message the catcher received and saved, with what it saw of the sender's connection.
 *
 * @param eml    the raw message, byte for byte as received (after SMTP dot-unstuffing)
 * @param facts  the JSON facts file beside it
 * @param sha256 hex SHA-256 of the {@code .eml} bytes
 */
public record CaughtMessage(
        int number,
        Instant at,
        Path eml,
        Path facts,
        String mailFrom,
        List<String> recipients,
        String client,
        String tlsProtocol,
        String tlsCipher,
        Optional<String> authUser,
        long size,
        String sha256) {

    public CaughtMessage {
        recipients = List.copyOf(recipients);
    }

    /** The one-line summary the catcher prints per message. */
    public String summary() {
        return String.format("caught #%04d from <%s> to %s, %d bytes, over %s %s%s, saved %s", number, mailFrom,
                recipients, size, tlsProtocol, tlsCipher, authUser.map(u -> ", AUTH " + u).orElse(""),
                eml.getFileName());
    }
}
