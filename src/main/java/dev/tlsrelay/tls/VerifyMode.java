package dev.tlsrelay.tls;

/**
 * How the relay decides that it is talking to the right server. Named for what each mode
 * guarantees; there is no mode that skips verification.
 */
public enum VerifyMode {
    /**
     * The certificate chain validates against the configured trust anchors (the JDK trust store or
     * a PEM bundle), the certificate names the host the relay connected to, and, when pins are
     * configured, one certificate of the chain carries a pinned public key.
     */
    FULL,
    /**
     * One certificate of the chain carries a pinned public key (SPKI SHA-256). Chain and host name
     * are not checked, which is what a self-signed corporate smarthost needs: the pin alone
     * identifies the server.
     */
    PIN;

    /** The configuration spelling: {@code full} or {@code pin}. */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
