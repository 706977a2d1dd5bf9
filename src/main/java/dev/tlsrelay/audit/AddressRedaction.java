package dev.tlsrelay.audit;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Mail addresses written as keyed hashes ({@code audit.redact-addresses = true}): the audit shows
 * that two messages share a sender without showing who it is, and whoever holds the redaction key
 * can still find every message of one exact address by hashing it the same way.
 *
 * <p>{@code hash(a) = "redacted:" + first 16 bytes, hex, of HMAC-SHA256(key, lower-case(a))}, with
 * angle brackets and surrounding spaces removed first. A keyed hash, not a bare one: addresses are
 * guessable, and a bare hash of a guessable value is a lookup away from the value.
 */
public final class AddressRedaction {

    /** What every redacted address starts with. */
    public static final String PREFIX = "redacted:";

    private final AuditKey key;

    public AddressRedaction(AuditKey key) {
        this.key = key;
    }

    /** The form an address has in a redacted audit; the empty sender ({@code <>}) stays empty. */
    public String hash(String address) {
        String normal = normalize(address);
        if (normal.isEmpty()) {
            return "";
        }
        return PREFIX + HexFormat.of().formatHex(key.hmac(normal.getBytes(StandardCharsets.UTF_8)), 0, 16);
    }

    /** Replaces each of {@code addresses} found in {@code text} (an upstream reply, a reason) by its hash. */
    public String scrub(String text, Collection<String> addresses) {
        String out = text;
        // Longest first, so a@b.test is not half-replaced inside xa@b.test.
        for (String a : addresses.stream().map(AddressRedaction::normalize).filter(s -> !s.isEmpty()).distinct()
                .sorted(Comparator.comparingInt(String::length).reversed()).toList()) {
            Matcher m = Pattern.compile(Pattern.quote(a), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE)
                    .matcher(out);
            out = m.replaceAll(Matcher.quoteReplacement(hash(a)));
        }
        return out;
    }

    /**
     * Like {@link #scrub}, and also every address-like word of {@code text}: replies and spool reasons
     * quote addresses the caller may not know of.
     */
    public String scrubAll(String text, Collection<String> known) {
        List<String> all = new ArrayList<>(known);
        Matcher m = ADDRESS_LIKE.matcher(text);
        while (m.find()) {
            all.add(m.group());
        }
        return scrub(text, all);
    }

    private static final Pattern ADDRESS_LIKE = Pattern.compile("[^\\s<>\"(),;:]+@[^\\s<>\"(),;:]+");

    /** How addresses are compared: without angle brackets or spaces, case-insensitively. */
    public static String normalize(String address) {
        String a = address.strip();
        if (a.startsWith("<") && a.endsWith(">")) {
            a = a.substring(1, a.length() - 1).strip();
        }
        return a.toLowerCase(Locale.ROOT);
    }

    /** True when an audit value is an address as written by a redacting relay. */
    public static boolean isRedacted(String value) {
        return value.startsWith(PREFIX);
    }
}
