package dev.tlsrelay.tls;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The oldest TLS version the inbound listener accepts from devices. Unlike {@link TlsVersion},
 * which is what the relay itself offers upstream and has no legacy constants at all, this type
 * can name TLS 1.0 and 1.1: old printers and scanners speak nothing newer, and refusing them
 * would push them back to plaintext. Only {@link InboundTlsServer} accepts this type, so a legacy
 * version can never reach an upstream policy.
 */
public enum InboundTlsVersion {
    TLS_1_0("TLSv1.0", "TLSv1"),
    TLS_1_1("TLSv1.1", "TLSv1.1"),
    TLS_1_2("TLSv1.2", "TLSv1.2"),
    TLS_1_3("TLSv1.3", "TLSv1.3");

    private final String configName;
    private final String protocolName;

    InboundTlsVersion(String configName, String protocolName) {
        this.configName = configName;
        this.protocolName = protocolName;
    }

    /** How the configuration spells it: {@code TLSv1.0} … {@code TLSv1.3}. */
    public String configName() {
        return configName;
    }

    /** The JSSE protocol name, as sessions and the audit report it: {@code TLSv1} for TLS 1.0. */
    public String protocolName() {
        return protocolName;
    }

    /** True for TLS 1.0 and 1.1, which the JDK disables and only Bouncy Castle's own protocol code serves. */
    public boolean isLegacy() {
        return compareTo(TLS_1_2) < 0;
    }

    /** The same floor as an upstream-capable version, for TLS 1.2 and 1.3 only. */
    public Optional<TlsVersion> modern() {
        return switch (this) {
            case TLS_1_2 -> Optional.of(TlsVersion.TLS_1_2);
            case TLS_1_3 -> Optional.of(TlsVersion.TLS_1_3);
            case TLS_1_0, TLS_1_1 -> Optional.empty();
        };
    }

    /** JSSE names of this version and every newer one, newest first. */
    public List<String> protocolsFromThisUp() {
        List<String> out = new ArrayList<>();
        for (int i = values().length - 1; i >= ordinal(); i--) {
            out.add(values()[i].protocolName);
        }
        return List.copyOf(out);
    }

    /** Parses {@code TLSv1.0}, {@code TLSv1}, {@code TLSv1.1}, {@code TLSv1.2} or {@code TLSv1.3}. */
    public static Optional<InboundTlsVersion> fromConfigName(String name) {
        String n = name.trim();
        for (InboundTlsVersion v : values()) {
            if (v.configName.equalsIgnoreCase(n) || v.protocolName.equalsIgnoreCase(n)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
