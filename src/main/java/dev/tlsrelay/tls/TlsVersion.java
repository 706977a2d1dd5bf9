package dev.tlsrelay.tls;

import java.util.List;
import java.util.Optional;

/**
 * The TLS protocol versions the relay will ever negotiate. There is deliberately no constant for
 * SSLv3, TLS 1.0 or TLS 1.1: they cannot be configured, so they cannot be enabled by mistake.
 */
public enum TlsVersion {
    TLS_1_2("TLSv1.2"),
    TLS_1_3("TLSv1.3");

    private final String protocolName;

    TlsVersion(String protocolName) {
        this.protocolName = protocolName;
    }

    /** The JSSE protocol name, e.g. {@code TLSv1.2}. */
    public String protocolName() {
        return protocolName;
    }

    /** JSSE protocol names of this version and every newer one, newest first. */
    public List<String> protocolsFromThisUp() {
        return this == TLS_1_3 ? List.of("TLSv1.3") : List.of("TLSv1.3", "TLSv1.2");
    }

    /** Parses a JSSE protocol name ({@code TLSv1.2}, {@code TLSv1.3}); empty for anything else. */
    public static Optional<TlsVersion> fromProtocolName(String name) {
        for (TlsVersion v : values()) {
            if (v.protocolName.equalsIgnoreCase(name.trim())) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
