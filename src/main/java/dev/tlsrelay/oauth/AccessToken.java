package dev.tlsrelay.oauth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;

/**
 * An OAuth 2.0 access token and the time it stops being usable. Its value never appears in
 * {@link #toString()}; logs name it by {@link #fingerprint()}.
 *
 * @param value      what goes into {@code auth=Bearer ...}: printable ASCII, no spaces (checked when
 *                   received, since it ends up inside an SMTP command)
 * @param obtainedAt when the request that produced it was sent
 * @param expiresAt  {@code obtainedAt} + the {@code expires_in} the provider gave
 */
public record AccessToken(String value, Instant obtainedAt, Instant expiresAt) {

    public AccessToken {
        if (!isPrintableWord(value)) {
            throw new IllegalArgumentException("an access token is printable ASCII without spaces");
        }
    }

    public Duration lifetime() {
        return Duration.between(obtainedAt, expiresAt);
    }

    /**
     * The first 8 hex digits of the token's SHA-256: enough to tell tokens apart in a log, useless
     * for authenticating.
     */
    public String fingerprint() {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(h, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    @Override
    public String toString() {
        return "AccessToken[" + fingerprint() + ", expires " + expiresAt + "]";
    }

    /** RFC 6749's VSCHAR without the space: what tokens and codes are made of. */
    static boolean isPrintableWord(String s) {
        if (s == null || s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }
}
