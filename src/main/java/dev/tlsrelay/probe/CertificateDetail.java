package dev.tlsrelay.probe;

import dev.tlsrelay.tls.CertificateFacts;
import java.math.BigInteger;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.DSAPublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * One certificate of a server's chain as the probe shows it: the audit's facts plus key, signature
 * algorithm and days until expiry.
 *
 * @param keyType   {@code RSA}, {@code EC}, {@code Ed25519}, ...
 * @param keyBits   the key's size in bits (the curve order for EC); 0 when unknown
 * @param daysLeft  whole days from {@code now} until it expires; negative once expired
 * @param selfIssued subject and issuer are the same name (a root, or a self-signed leaf)
 */
public record CertificateDetail(
        CertificateFacts facts,
        String keyType,
        int keyBits,
        String signatureAlgorithm,
        long daysLeft,
        boolean selfIssued) {

    static CertificateDetail of(X509Certificate cert, Instant now) {
        PublicKey key = cert.getPublicKey();
        return new CertificateDetail(
                CertificateFacts.of(cert),
                keyType(key),
                keyBits(key),
                cert.getSigAlgName(),
                Math.floorDiv(Duration.between(now, cert.getNotAfter().toInstant()).toHours(), 24),
                cert.getSubjectX500Principal().equals(cert.getIssuerX500Principal()));
    }

    private static String keyType(PublicKey key) {
        String alg = key.getAlgorithm();
        return switch (alg.toUpperCase(Locale.ROOT)) {
            case "ECDSA" -> "EC";
            case "EDDSA" -> key.getEncoded().length < 50 ? "Ed25519" : "Ed448";
            default -> alg;
        };
    }

    private static int keyBits(PublicKey key) {
        BigInteger size = switch (key) {
            case RSAPublicKey rsa -> rsa.getModulus();
            case ECPublicKey ec -> ec.getParams().getOrder();
            case DSAPublicKey dsa -> dsa.getParams().getP();
            default -> null;
        };
        if (size != null) {
            return size.bitLength();
        }
        return switch (keyType(key)) {
            case "Ed25519", "X25519" -> 255;
            case "Ed448", "X448" -> 448;
            default -> 0;
        };
    }

    /** {@code EC 256 bits}. */
    public String keyDescription() {
        return keyBits > 0 ? keyType + " " + keyBits + " bits" : keyType;
    }
}
