package dev.tlsrelay.tls;

import java.util.Optional;

/**
 * The TLS versions {@code tlsrelay probe} asks a server about, including TLS 1.0 and 1.1, which the
 * relay never uses: a server that still accepts them is worth knowing about. Deliberately a type of
 * its own, so the relay's {@link TlsVersion} can never be set to an old version by mistake.
 */
public enum ProbedVersion {
    TLS_1_0("TLSv1", "TLS 1.0"),
    TLS_1_1("TLSv1.1", "TLS 1.1"),
    TLS_1_2("TLSv1.2", "TLS 1.2"),
    TLS_1_3("TLSv1.3", "TLS 1.3");

    private final String protocolName;
    private final String displayName;

    ProbedVersion(String protocolName, String displayName) {
        this.protocolName = protocolName;
        this.displayName = displayName;
    }

    /** The JSSE protocol name, e.g. {@code TLSv1.1}. */
    public String protocolName() {
        return protocolName;
    }

    /** How people write it, e.g. {@code TLS 1.1}. */
    public String displayName() {
        return displayName;
    }

    /** The relay's own version for this one, if the relay can ever use it. */
    public Optional<TlsVersion> relayVersion() {
        return TlsVersion.fromProtocolName(protocolName);
    }

    /** Whether a relay whose oldest version is {@code min} offers this version. */
    public boolean offeredByRelay(TlsVersion min) {
        return relayVersion().map(v -> v.compareTo(min) >= 0).orElse(false);
    }
}
