package dev.tlsrelay.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The hash chain that makes the audit tamper-evident. Each line ends with a {@code chain} member:
 *
 * <pre>
 * canonical(line) = the line as written, without its final  ,"chain":"&lt;64 hex&gt;"  member
 * chain(line 1)   = H(32 zero bytes                ‖ UTF-8 bytes of canonical(line 1))
 * chain(line n)   = H(raw 32 bytes of chain(n - 1) ‖ UTF-8 bytes of canonical(line n))
 * H               = SHA-256, or HMAC-SHA256 under audit.hmac-key-file
 * </pre>
 *
 * The canonical form is the bytes as written, not a re-serialisation, so anyone can recompute the
 * chain with any tool: no JSON canonicalisation rules are involved.
 */
final class Chain {

    /** The chain value before the first line. */
    static final String GENESIS = "0".repeat(64);

    /** The final member every line carries; matched on the raw text, so field order is fixed. */
    private static final Pattern SUFFIX = Pattern.compile(",\"chain\":\"([0-9a-f]{64})\"}$");

    private final Optional<AuditKey> key;

    Chain(Optional<AuditKey> key) {
        this.key = key;
    }

    /** "sha256" or "hmac-sha256", as written in {@code audit.started} lines. */
    String algorithm() {
        return key.isPresent() ? "hmac-sha256" : "sha256";
    }

    Optional<AuditKey> key() {
        return key;
    }

    /** The chain value of a line whose canonical form is {@code canonical}, after {@code previous}. */
    String link(String previous, String canonical) {
        byte[] prev = HexFormat.of().parseHex(previous);
        byte[] content = canonical.getBytes(StandardCharsets.UTF_8);
        byte[] out;
        if (key.isPresent()) {
            out = key.get().hmac(prev, content);
        } else {
            try {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                sha.update(prev);
                out = sha.digest(content);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is missing from this JDK", e);
            }
        }
        return HexFormat.of().formatHex(out);
    }

    /** A written line cut into its canonical form and its chain value. */
    record Split(String canonical, String chain) {}

    /** Splits a line; empty when it does not end with a well-formed chain member. */
    static Optional<Split> split(String line) {
        Matcher m = SUFFIX.matcher(line);
        if (!m.find()) {
            return Optional.empty();
        }
        return Optional.of(new Split(line.substring(0, m.start()) + "}", m.group(1)));
    }
}
