package dev.tlsrelay.audit;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * How mail addresses are shown in the audit and in the operational log alike. With
 * {@code audit.redact-addresses} on, every address becomes the audit's keyed hash, so a log line and
 * its audit line still match up and neither names the sender; with it off, text is returned unchanged.
 */
public final class AddressDisplay {

    /** Addresses in clear: what a relay without redaction logs. */
    public static final AddressDisplay PLAIN = new AddressDisplay(Optional.empty());

    private final Optional<AddressRedaction> redaction;

    AddressDisplay(Optional<AddressRedaction> redaction) {
        this.redaction = redaction;
    }

    /** One envelope address, hashed when redacting; the empty sender stays empty. */
    public String address(String address) {
        return redaction.map(r -> r.hash(address)).orElse(address);
    }

    /** A reply or reason: each of {@code known} and every other address-like word, hashed when redacting. */
    public String text(String text, Collection<String> known) {
        return redaction.map(r -> r.scrubAll(text, known)).orElse(text);
    }

    /** Like {@link #text(String, Collection)} with no address known beforehand. */
    public String text(String text) {
        return text(text, List.of());
    }
}
