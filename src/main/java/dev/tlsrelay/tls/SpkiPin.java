package dev.tlsrelay.tls;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.Base64;

/**
 * A public-key pin: base64 of the SHA-256 of a certificate's SubjectPublicKeyInfo, the same value
 * as {@code openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64}.
 * Pinning the key rather than the certificate survives renewals that keep the key.
 */
public record SpkiPin(String base64) {

    public SpkiPin {
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not base64: " + base64);
        }
        if (raw.length != 32) {
            throw new IllegalArgumentException(
                    "a SHA-256 pin is 32 bytes (44 base64 characters), got " + raw.length + " bytes: " + base64);
        }
    }

    /** Parses {@code BASE64} or OkHttp's {@code sha256/BASE64}. */
    public static SpkiPin parse(String text) {
        String t = text.trim();
        if (t.startsWith("sha256/")) {
            t = t.substring("sha256/".length());
        }
        return new SpkiPin(t);
    }

    /** The pin of a public key. */
    public static SpkiPin of(PublicKey key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
            return new SpkiPin(Base64.getEncoder().encodeToString(digest));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }

    @Override
    public String toString() {
        return "sha256/" + base64;
    }
}
