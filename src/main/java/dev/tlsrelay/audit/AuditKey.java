package dev.tlsrelay.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A secret key for HMAC-SHA256: the chain key ({@code audit.hmac-key-file}) or the address
 * redaction key ({@code audit.redaction-key-file}). Read from a file whose first line is the key in
 * base64 ({@code openssl rand -base64 32 > FILE}); never printed.
 */
public final class AuditKey {

    /** 256 bits: a shorter key would be the weak link of HMAC-SHA256. */
    public static final int MIN_BYTES = 32;

    private final byte[] material;
    private final String id;

    private AuditKey(byte[] material) {
        if (material.length < MIN_BYTES) {
            throw new IllegalArgumentException("the key has " + material.length + " bytes, at least " + MIN_BYTES
                    + " are needed");
        }
        this.material = material.clone();
        this.id = HexFormat.of().formatHex(hmac("tlsrelay audit key id".getBytes(StandardCharsets.US_ASCII)), 0, 4);
    }

    /**
     * Reads a key file: the first line, base64.
     *
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if its first line is not base64 of at least {@link #MIN_BYTES} bytes
     */
    public static AuditKey read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
        if (lines.isEmpty() || lines.get(0).isBlank()) {
            throw new IllegalArgumentException("the first line is empty");
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(lines.get(0).strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the first line is not base64");
        }
        return new AuditKey(key);
    }

    /** A key from raw bytes (tests, and callers holding a key already). */
    public static AuditKey of(byte[] material) {
        return new AuditKey(material);
    }

    /**
     * A short public name of the key (the first 4 bytes of an HMAC of a fixed text), written in the
     * log's {@code audit.started} lines so a verifier can tell which key a log expects without the
     * key itself being revealed.
     */
    public String id() {
        return id;
    }

    /** HMAC-SHA256 of {@code data} under this key. */
    byte[] hmac(byte[]... data) {
        Mac mac = newMac();
        for (byte[] d : data) {
            mac.update(d);
        }
        return mac.doFinal();
    }

    private Mac newMac() {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(material, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
        }
    }

    /** True when both hold the same secret (compared in constant time). */
    public boolean sameMaterial(AuditKey other) {
        return MessageDigest.isEqual(material, other.material);
    }

    @Override
    public String toString() {
        return "AuditKey[id=" + id + "]";
    }
}
