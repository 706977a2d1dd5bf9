package dev.tlsrelay.tls;

import java.util.Locale;

/**
 * Why a TLS negotiation failed. The audit's {@code failure} field is {@link #auditName()}; those
 * names are stable forever, because auditors and alerting rules match on them.
 */
public enum FailureCode {
    /**
     * The server's EHLO reply did not offer STARTTLS, or it offered it and then refused the
     * STARTTLS command (454); the relay never continues in plaintext.
     */
    STARTTLS_NOT_OFFERED("the server does not offer STARTTLS"),
    /** No TLS version both sides accept (the server offers only TLS 1.1 or older, say). */
    PROTOCOL_VERSION("the server does not support TLS 1.2 or newer"),
    CERT_EXPIRED("the server certificate has expired"),
    CERT_NOT_YET_VALID("the server certificate is not valid yet"),
    /** The chain does not lead to a configured trust anchor (self-signed, unknown CA, bad signature). */
    CERT_UNTRUSTED("the server certificate is not issued by a trusted CA"),
    HOSTNAME_MISMATCH("the server certificate does not name the host the relay connected to"),
    PIN_MISMATCH("no certificate of the server carries a pinned public key"),
    HANDSHAKE_FAILED("the TLS handshake failed"),
    CONNECT_FAILED("the server could not be reached"),
    TIMEOUT("the server did not answer in time");

    private final String plainWords;

    FailureCode(String plainWords) {
        this.plainWords = plainWords;
    }

    /** The stable audit spelling, e.g. {@code hostname_mismatch}. */
    public String auditName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** A short explanation for people, used in SMTP replies and log lines. */
    public String plainWords() {
        return plainWords;
    }
}
