package dev.tlsrelay.route;

import dev.tlsrelay.upstream.SmtpReply;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one table of upstream replies that mean "slow down" rather than "this message is bad". A
 * match pauses the whole route (every session waits) instead of failing messages one by one, and
 * a matching 5xx is treated as temporary: a spent quota is not a reason to bounce mail. Reply texts
 * as published by the providers, checked 2026-11-23 (sources in the README).
 */
public final class ThrottleReplies {

    /** What a throttling reply means, which sets how long the route pauses. */
    public enum Kind {
        /** Too many messages per unit of time. */
        RATE,
        /** Too many connections at once. */
        CONCURRENCY,
        /** A daily (or rolling 24-hour) quota is spent: pause for long. */
        QUOTA,
        /** The server asks to come back later without saying why. */
        TRY_LATER;

        public String auditName() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * One recognised reply.
     *
     * @param provider who sends it (documentation only)
     * @param code     the reply code, 0 for any
     * @param text     matched (case-insensitively) anywhere in the reply text
     */
    public record Entry(String provider, int code, Pattern text, Kind kind) {
        boolean matches(SmtpReply reply) {
            return (code == 0 || reply.code() == code) && text.matcher(reply.text()).find();
        }
    }

    /** First match wins: specific entries before the catch-all 421. */
    public static final List<Entry> TABLE = List.of(
            entry("amazon-ses", 454, "Throttling failure: Maximum sending rate exceeded", Kind.RATE),
            entry("amazon-ses", 454, "Throttling failure: Daily message quota exceeded", Kind.QUOTA),
            entry("microsoft365", 432, "4\\.3\\.2 .*(sender thread limit|concurrent connection limit)",
                    Kind.CONCURRENCY),
            entry("microsoft365", 0, "SubmissionQuotaExceededException", Kind.QUOTA),
            entry("gmail", 421, "4\\.7\\.28", Kind.RATE),
            entry("gmail", 0, "5\\.4\\.5 Daily (user sending quota|SMTP relay limit) exceeded", Kind.QUOTA),
            entry("gmail", 450, "4\\.2\\.1 Peak SMTP relay limit exceeded", Kind.RATE),
            entry("gmail", 421, "4\\.7\\.0 .*Try again later", Kind.TRY_LATER),
            entry("any", 421, "", Kind.TRY_LATER));

    private ThrottleReplies() {}

    /** The table entry a reply matches, if it means "slow down". */
    public static Optional<Entry> classify(SmtpReply reply) {
        return TABLE.stream().filter(e -> e.matches(reply)).findFirst();
    }

    private static Entry entry(String provider, int code, String text, Kind kind) {
        return new Entry(provider, code, Pattern.compile(text, Pattern.CASE_INSENSITIVE), kind);
    }
}
