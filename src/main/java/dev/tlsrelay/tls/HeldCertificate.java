package dev.tlsrelay.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
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

    /**
     * Reads a PEM certificate chain (leaf first) and its unencrypted private key, and checks that
     * the key belongs to the leaf, so a mismatched pair fails at start, not at a client's handshake.
     *
     * @throws IOException with the file and what is wrong with it
     */
    public static HeldCertificate fromPem(Path certificateFile, Path keyFile) throws IOException {
        List<X509Certificate> chain = Pem.readCertificates(certificateFile);
        if (chain.isEmpty()) {
            throw new IOException("no CERTIFICATE block in " + certificateFile);
        }
        PrivateKey key = Pem.readPrivateKey(keyFile);
        PublicKey pub = chain.get(0).getPublicKey();
        if (!belongTogether(pub, key)) {
            throw new IOException("the key in " + keyFile + " does not belong to the first certificate in "
                    + certificateFile + " (" + chain.get(0).getSubjectX500Principal().getName() + ")");
        }
        return new HeldCertificate(new KeyPair(pub, key), chain.get(0), chain.subList(1, chain.size()));
    }

    /** Signs a probe with the private key and verifies it with the public one. */
    private static boolean belongTogether(PublicKey pub, PrivateKey key) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null) {
            return false;
        }
        try {
            byte[] probe = "tlsrelay key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm, Providers.bc());
            signer.initSign(key);
            signer.update(probe);
            byte[] sig = signer.sign();
            Signature verifier = Signature.getInstance(algorithm, Providers.bc());
            verifier.initVerify(pub);
            verifier.update(probe);
            return verifier.verify(sig);
        } catch (GeneralSecurityException e) {
            return false; // e.g. an RSA key for an EC certificate: initVerify refuses it
        }
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
