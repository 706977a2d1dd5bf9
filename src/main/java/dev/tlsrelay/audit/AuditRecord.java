package dev.tlsrelay.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One audit line read back, with where it was found. Reviews ({@code summary}, {@code search},
 * {@code report}) read records; whether the lines can be trusted is {@link ChainVerifier}'s question.
 *
 * @param line 1-based line number within {@code file}
 * @param raw  the line exactly as written (what {@code search --json} prints)
 */
public record AuditRecord(Path file, long line, long seq, String event, Instant ts, JsonNode json, String raw) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads every audit line of {@code files} in order; lines that are not audit lines are skipped. */
    public static void read(List<Path> files, Consumer<AuditRecord> consumer) throws IOException {
        AuditLines.read(files, l -> {
            parse(l).ifPresent(consumer);
            return true;
        });
    }

    private static Optional<AuditRecord> parse(AuditLines.Line l) {
        if (!l.terminated() || l.oversized()) {
            return Optional.empty();
        }
        try {
            JsonNode j = JSON.readTree(l.text());
            if (j == null || !j.isObject() || !j.path("event").isTextual()) {
                return Optional.empty();
            }
            Instant ts = Instant.parse(j.path("ts").asText());
            return Optional.of(new AuditRecord(l.file(), l.number(), j.path("seq").asLong(0), j.path("event").asText(),
                    ts, j, l.text()));
        } catch (JsonProcessingException | DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** A text field, or "" when absent. */
    public String text(String field) {
        JsonNode n = json.path(field);
        return n.isValueNode() ? n.asText() : "";
    }

    public boolean isHandshake() {
        return event.equals("tls.handshake");
    }

    public boolean isMessage() {
        return event.startsWith("message.");
    }

    /** For a message line: what became of it, from the device's point of view. */
    public Optional<MessageFate> fate() {
        return isMessage() ? Optional.of(MessageFate.of(this)) : Optional.empty();
    }

    /** One readable line: time, seq, event and the fields that matter for that event. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(ts).append("  #").append(seq).append("  ").append(String.format("%-16s", event));
        switch (event) {
            case "tls.handshake" -> {
                sb.append(text("session")).append("  ").append(text("direction")).append(' ')
                        .append(text("peer_host")).append(':').append(text("peer_port")).append(' ')
                        .append(text("mode")).append("  ").append(text("outcome"));
                if (json.has("failure")) {
                    sb.append(' ').append(text("failure")).append(": ").append(text("detail"));
                } else {
                    sb.append(' ').append(text("protocol")).append(' ').append(text("cipher"));
                }
                if (json.has("cert_subject")) {
                    sb.append("  cert ").append(text("cert_subject")).append(" until ").append(text("cert_not_after"));
                }
            }
            case "message.relayed", "message.failed" -> {
                sb.append(text("session")).append("  client ").append(text("client")).append("  from <")
                        .append(text("mail_from")).append("> to ");
                JsonNode to = json.path("rcpt_to");
                if (to.isArray() && !to.isEmpty()) {
                    for (int i = 0; i < to.size(); i++) {
                        sb.append(i == 0 ? "<" : ", <").append(to.get(i).asText()).append('>');
                    }
                } else {
                    sb.append(text("rcpt_count")).append(" recipient(s)");
                }
                sb.append("  ").append(text("size")).append(" bytes  ").append(MessageFate.of(this).word());
                if (json.has("reply_code")) {
                    sb.append(' ').append(text("reply_code"));
                }
                if (json.has("failure")) {
                    sb.append("  ").append(text("failure"));
                }
                String why = json.has("reason") ? text("reason") : text("upstream_reply");
                if (!why.isEmpty()) {
                    sb.append(": ").append(why);
                }
            }
            default -> json.properties().forEach(e -> {
                if (!List.of("seq", "ts", "event", "chain").contains(e.getKey())) {
                    sb.append(' ').append(e.getKey()).append('=').append(e.getValue().isTextual()
                            ? e.getValue().asText() : e.getValue().toString());
                }
            });
        }
        return sb.toString();
    }
}
