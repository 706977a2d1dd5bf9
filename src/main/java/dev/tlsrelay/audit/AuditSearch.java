package dev.tlsrelay.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/** Finds audit lines by session, client, address, failure code, event and time; every filter given must match. */
public final class AuditSearch {

    /**
     * What to look for; empty filters match everything.
     *
     * @param client    the device's IP address (on message lines; handshake lines carry the session instead)
     * @param sender    an envelope sender, compared case-insensitively; found in redacted logs too when the
     *                  redaction key is given
     * @param recipient an envelope recipient, the same way
     * @param failure   a failure code such as {@code hostname_mismatch}, on handshake and message lines
     * @param event     an event name ({@code tls.handshake}) or its family ({@code message})
     */
    public record Query(
            Optional<String> session,
            Optional<String> client,
            Optional<String> sender,
            Optional<String> recipient,
            Optional<String> failure,
            Optional<String> event,
            TimeWindow window) {}

    /**
     * How a search went.
     *
     * @param redactedWithoutKey address filters met redacted addresses and no key was given to hash the
     *                           query with, so those lines could not match
     */
    public record Result(long scanned, long matched, boolean redactedWithoutKey) {}

    private final Query query;
    private final Optional<AddressRedaction> redaction;
    private boolean redactedWithoutKey;

    private AuditSearch(Query query, Optional<AuditKey> redactionKey) {
        this.query = query;
        this.redaction = redactionKey.map(AddressRedaction::new);
    }

    /** Hands each matching record of {@code files}, in order, to {@code out}. */
    public static Result search(List<Path> files, Query query, Optional<AuditKey> redactionKey,
            Consumer<AuditRecord> out) throws IOException {
        AuditSearch s = new AuditSearch(query, redactionKey);
        long[] counts = new long[2];
        AuditRecord.read(files, r -> {
            counts[0]++;
            if (s.matches(r)) {
                counts[1]++;
                out.accept(r);
            }
        });
        return new Result(counts[0], counts[1], s.redactedWithoutKey);
    }

    private boolean matches(AuditRecord r) {
        if (!query.window().contains(r.ts())) {
            return false;
        }
        if (query.session().isPresent() && !r.text("session").equals(query.session().get())) {
            return false;
        }
        if (query.client().isPresent() && !r.text("client").equals(query.client().get())) {
            return false;
        }
        if (query.failure().isPresent()
                && !r.text("failure").equals(query.failure().get().toLowerCase(Locale.ROOT))) {
            return false;
        }
        if (query.event().isPresent()) {
            String e = query.event().get();
            if (!r.event().equals(e) && !r.event().startsWith(e + ".")) {
                return false;
            }
        }
        if (query.sender().isPresent() && !(r.isMessage() && sameAddress(r.text("mail_from"), query.sender().get()))) {
            return false;
        }
        if (query.recipient().isPresent()) {
            JsonNode to = r.json().path("rcpt_to");
            boolean any = false;
            for (int i = 0; to.isArray() && i < to.size() && !any; i++) {
                any = sameAddress(to.get(i).asText(), query.recipient().get());
            }
            return any;
        }
        return true;
    }

    private boolean sameAddress(String written, String wanted) {
        if (AddressRedaction.isRedacted(written)) {
            if (redaction.isEmpty()) {
                redactedWithoutKey = true;
                return false;
            }
            return written.equals(redaction.get().hash(wanted));
        }
        return AddressRedaction.normalize(written).equals(AddressRedaction.normalize(wanted));
    }
}
