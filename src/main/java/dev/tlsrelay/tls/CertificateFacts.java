package dev.tlsrelay.tls;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/**
 * What an auditor needs to know about one certificate, as plain values.
 *
 * @param sha256 hex SHA-256 of the DER encoding (the certificate fingerprint)
 * @param spkiSha256 base64 SPKI pin of its public key
 */
public record CertificateFacts(
        String subject,
        String issuer,
        List<String> subjectAltNames,
        String serial,
        Instant notBefore,
        Instant notAfter,
        String sha256,
        String spkiSha256) {

    public CertificateFacts {
        subjectAltNames = List.copyOf(subjectAltNames);
    }

    /** Reads the facts of a certificate. */
    public static CertificateFacts of(X509Certificate cert) {
        return new CertificateFacts(
                cert.getSubjectX500Principal().getName(),
                cert.getIssuerX500Principal().getName(),
                subjectAltNames(cert),
                cert.getSerialNumber().toString(16),
                cert.getNotBefore().toInstant(),
                cert.getNotAfter().toInstant(),
                sha256Hex(cert),
                SpkiPin.of(cert.getPublicKey()).base64());
    }

    /** DNS and IP subject alternative names, as {@code DNS:name} / {@code IP:addr}. */
    static List<String> subjectAltNames(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    int type = (Integer) san.get(0);
                    if (type == HostnameMatcher.SAN_DNS) {
                        out.add("DNS:" + san.get(1));
                    } else if (type == HostnameMatcher.SAN_IP) {
                        out.add("IP:" + san.get(1));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            out.add("unparseable");
        }
        return out;
    }

    static String sha256Hex(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint certificate", e);
        }
    }
}
