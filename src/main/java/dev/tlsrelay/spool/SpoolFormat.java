package dev.tlsrelay.spool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The on-disk form of a {@link QueuedMessage}: one JSON object, with a format version. */
final class SpoolFormat {

    static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SpoolFormat() {}

    static byte[] write(QueuedMessage m, Optional<String> deadReason) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", VERSION);
        o.put("id", m.id());
        o.put("session", m.sessionId());
        o.put("client", m.clientAddress());
        o.put("mail_from", m.sender());
        ArrayNode rcpts = o.putArray("recipients");
        for (QueuedMessage.Recipient r : m.recipients()) {
            ObjectNode rn = rcpts.addObject();
            rn.put("address", r.address());
            rn.put("state", r.state().name().toLowerCase(java.util.Locale.ROOT));
            r.reply().ifPresent(v -> rn.put("reply", v));
        }
        o.put("received_at", m.receivedAt().toString());
        o.put("size", m.size());
        o.put("attempts", m.attempts());
        o.put("next_attempt", m.nextAttempt().toString());
        m.lastError().ifPresent(v -> o.put("last_error", v));
        m.lastFailure().ifPresent(v -> o.put("last_failure", v));
        deadReason.ifPresent(v -> o.put("dead_reason", v));
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
    }

    static QueuedMessage read(byte[] bytes) throws IOException {
        JsonNode o = JSON.readTree(bytes);
        if (o == null || o.path("format").asInt() != VERSION) {
            throw new IOException("not a tlsrelay spool file of format " + VERSION);
        }
        List<QueuedMessage.Recipient> rcpts = new ArrayList<>();
        for (JsonNode r : o.path("recipients")) {
            rcpts.add(new QueuedMessage.Recipient(r.path("address").asText(),
                    QueuedMessage.State.valueOf(r.path("state").asText().toUpperCase(java.util.Locale.ROOT)),
                    text(r, "reply")));
        }
        return new QueuedMessage(
                o.path("id").asText(),
                o.path("session").asText(),
                o.path("client").asText(),
                o.path("mail_from").asText(),
                rcpts,
                Instant.parse(o.path("received_at").asText()),
                o.path("size").asLong(),
                o.path("attempts").asInt(),
                Instant.parse(o.path("next_attempt").asText()),
                text(o, "last_error"),
                text(o, "last_failure"));
    }

    /** The reason stored with a dead letter. */
    static Optional<String> deadReason(byte[] bytes) throws IOException {
        return text(JSON.readTree(bytes), "dead_reason");
    }

    private static Optional<String> text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }
}
