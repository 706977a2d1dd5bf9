package dev.tlsrelay.tls;

import java.util.Locale;

/** How TLS starts on an SMTP connection. There is no plaintext mode. */
public enum TlsMode {
    /** Plain connect, then {@code STARTTLS} before anything else (submission port 587). */
    STARTTLS,
    /** TLS from the first byte (submissions port 465). */
    IMPLICIT;

    /** The configuration and audit spelling: {@code starttls} or {@code implicit}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The port this mode is normally served on. */
    public int defaultPort() {
        return this == STARTTLS ? 587 : 465;
    }
}
