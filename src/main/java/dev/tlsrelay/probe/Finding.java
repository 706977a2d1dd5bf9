package dev.tlsrelay.probe;

import java.util.Optional;

/**
 * One verdict of a probe: what was found, how bad it is, and what to do about it.
 *
 * @param code    a stable machine name, e.g. {@code tls_1_0_accepted}, {@code hostname_mismatch}
 * @param message what was found, in plain words
 * @param fix     one sentence saying what to do; empty for {@link Severity#OK}
 */
public record Finding(Severity severity, String code, String message, Optional<String> fix) {

    /** How a finding bears on the relay. */
    public enum Severity {
        /** Fine as it is. */
        OK,
        /** The relay works, but something should be fixed. */
        WARN,
        /** The relay will not deliver to this server until it is fixed. */
        FAIL
    }

    static Finding ok(String code, String message) {
        return new Finding(Severity.OK, code, message, Optional.empty());
    }

    static Finding warn(String code, String message, String fix) {
        return new Finding(Severity.WARN, code, message, Optional.of(fix));
    }

    static Finding fail(String code, String message, String fix) {
        return new Finding(Severity.FAIL, code, message, Optional.of(fix));
    }

    /** The verdict line: {@code WARN  server accepts TLS 1.0: disable it on the server}. */
    public String line() {
        return String.format("%-4s  %s%s", severity, message, fix.map(f -> ": " + f).orElse(""));
    }
}
