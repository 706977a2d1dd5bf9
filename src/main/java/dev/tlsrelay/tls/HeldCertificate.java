package dev.tlsrelay.tls;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * A certificate with its private key and the chain up to (not including) the root that signed it.
 * What a server presents, and what {@link CertificateMinter} produces.
 */
public record HeldCertificate(KeyPair keyPair, X509Certificate certificate, List<X509Certificate> issuers) {

    public HeldCertificate {
        issuers = List.copyOf(issuers);
    }

    /** The certificate followed by its issuers: what a server sends. */
    public X509Certificate[] chain() {
        X509Certificate[] out = new X509Certificate[issuers.size() + 1];
        out[0] = certificate;
        for (int i = 0; i < issuers.size(); i++) {
            out[i + 1] = issuers.get(i);
        }
        return out;
    }

    /** The SPKI pin of this certificate's key. */
    public SpkiPin pin() {
        return SpkiPin.of(certificate.getPublicKey());
    }

    /** PEM of the certificate chain. */
    public String certificatePem() {
        return Pem.encode((Object[]) chain());
    }

    /** PEM (PKCS#8) of the private key. */
    public String privateKeyPem() {
        return Pem.encode(keyPair.getPrivate());
    }
}
