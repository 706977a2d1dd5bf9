package dev.tlsrelay.tls;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Everything that decides whether a TLS connection to a server is acceptable: versions, cipher
 * suites, trust anchors, verification mode and pins. Immutable and shared by every connection.
 * The relay never retries a failed handshake with a weaker policy.
 *
 * @param minVersion       oldest version offered; TLS 1.2 at the very least
 * @param cipherSuites     suites offered, in preference order (JSSE names)
 * @param verify           how the server is identified
 * @param trust            trust anchors for {@link VerifyMode#FULL}
 * @param pins             SPKI pins; required for {@link VerifyMode#PIN}, extra check for FULL
 * @param handshakeTimeout bound on connect, greeting and handshake reads
 */
public record TlsPolicy(
        TlsVersion minVersion,
        List<String> cipherSuites,
        VerifyMode verify,
        TrustSource trust,
        Set<SpkiPin> pins,
        Duration handshakeTimeout) {

    /**
     * Forward-secret AEAD suites only, strongest first (as of 2026-11): the TLS 1.3 suites, then
     * ECDHE with AES-GCM or ChaCha20-Poly1305 for TLS 1.2. No CBC, no RSA key exchange, no SHA-1 MAC.
     */
    public static final List<String> MODERN_CIPHER_SUITES = List.of(
            "TLS_AES_256_GCM_SHA384",
            "TLS_AES_128_GCM_SHA256",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");

    public TlsPolicy {
        cipherSuites = List.copyOf(cipherSuites);
        pins = Set.copyOf(pins);
        if (verify == VerifyMode.PIN && pins.isEmpty()) {
            throw new IllegalArgumentException("verify mode pin needs at least one pin");
        }
        if (cipherSuites.isEmpty()) {
            throw new IllegalArgumentException("at least one cipher suite is needed");
        }
    }

    /** Full verification against the given trust, TLS 1.2+, modern suites, no pins. */
    public static TlsPolicy fullVerification(TrustSource trust, Duration handshakeTimeout) {
        return new TlsPolicy(TlsVersion.TLS_1_2, MODERN_CIPHER_SUITES, VerifyMode.FULL, trust, Set.of(),
                handshakeTimeout);
    }
}
