package dev.tlsrelay.cli;

import dev.tlsrelay.config.Units;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/** A point in time on the command line: a duration back from now ({@code 90d}), a date or an instant (UTC). */
final class TimeArgument {

    private TimeArgument() {}

    /**
     * Parses {@code 90d}, {@code 24h}, {@code 30m} (that long before {@code now}), {@code 2026-11-01}
     * (midnight UTC) or {@code 2026-11-01T08:00:00Z}.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    static Instant parse(String text, Instant now) {
        String t = text.strip();
        try {
            if (t.matches("\\d+\\s*(ms|s|m|h|d)")) {
                return now.minus(Units.parseDuration(t));
            }
            if (t.matches("\\d{4}-\\d{2}-\\d{2}")) {
                return LocalDate.parse(t).atStartOfDay(ZoneOffset.UTC).toInstant();
            }
            return Instant.parse(t);
        } catch (DateTimeParseException | IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "' is not a time: use a duration back from now (90d, 24h,"
                    + " 30m), a date (2026-11-01, midnight UTC) or an instant (2026-11-01T08:00:00Z)");
        }
    }
}
