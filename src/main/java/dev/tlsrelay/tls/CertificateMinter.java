package dev.tlsrelay.tls;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Mints throwaway CA and server certificates (ECDSA P-256) with Bouncy Castle: for the catcher and
 * the demo, which need a real verifiable chain on a machine with no PKI, and for tests.
 *
 * <pre>{@code
 * HeldCertificate ca = new CertificateMinter().commonName("tlsrelay demo CA").certificateAuthority().mint();
 * HeldCertificate server = new CertificateMinter().names("localhost", "127.0.0.1").signedBy(ca).mint();
 * }</pre>
 */
public final class CertificateMinter {

    private String commonName = "tlsrelay";
    private final List<String> names = new ArrayList<>();
    private Instant notBefore = Instant.now().minus(1, ChronoUnit.HOURS);
    private Instant notAfter = Instant.now().plus(Duration.ofDays(30));
    private boolean ca;
    private boolean rsa;
    private Optional<HeldCertificate> signer = Optional.empty();

    public CertificateMinter commonName(String cn) {
        this.commonName = cn;
        return this;
    }

    /** Subject alternative names: IP literals become IP entries, everything else DNS entries. */
    public CertificateMinter names(String... hostNames) {
        names.addAll(List.of(hostNames));
        if (names.size() == hostNames.length && "tlsrelay".equals(commonName) && hostNames.length > 0) {
            commonName = hostNames[0];
        }
        return this;
    }

    public CertificateMinter validity(Instant from, Instant until) {
        this.notBefore = from;
        this.notAfter = until;
        return this;
    }

    public CertificateMinter certificateAuthority() {
        this.ca = true;
        return this;
    }

    /**
     * An RSA 2048 key instead of ECDSA P-256, with key usage for RSA key exchange too: what old
     * appliances without ECDHE need on the inbound side.
     */
    public CertificateMinter rsa() {
        this.rsa = true;
        return this;
    }

    /** Signed by this CA; without it the certificate is self-signed. */
    public CertificateMinter signedBy(HeldCertificate issuer) {
        this.signer = Optional.of(issuer);
        return this;
    }

    public HeldCertificate mint() {
        try {
            KeyPairGenerator gen = KeyPairGenerator.getInstance(rsa ? "RSA" : "EC", Providers.bc());
            if (rsa) {
                gen.initialize(2048, Providers.random());
            } else {
                gen.initialize(new ECGenParameterSpec("secp256r1"), Providers.random());
            }
            KeyPair keys = gen.generateKeyPair();
            X500Name subject = new X500Name("CN=" + commonName.replace(",", "\\,"));
            X500Name issuerName = signer.map(s -> X500Name.getInstance(
                    s.certificate().getSubjectX500Principal().getEncoded())).orElse(subject);
            BigInteger serial = new BigInteger(127, Providers.random()).add(BigInteger.ONE);
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName, serial,
                    Date.from(notBefore), Date.from(notAfter), subject, keys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            if (signer.isPresent()) {
                b.addExtension(Extension.authorityKeyIdentifier, false,
                        ext.createAuthorityKeyIdentifier(signer.get().certificate()));
            }
            if (ca) {
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
                b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            } else {
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
                b.addExtension(Extension.keyUsage, true, new KeyUsage(rsa
                        ? KeyUsage.digitalSignature | KeyUsage.keyEncipherment : KeyUsage.digitalSignature));
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            }
            if (!names.isEmpty()) {
                GeneralName[] gn = names.stream()
                        .map(n -> new GeneralName(HostnameMatcher.isIpLiteral(n) ? GeneralName.iPAddress
                                : GeneralName.dNSName, n))
                        .toArray(GeneralName[]::new);
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(gn));
            }
            var signingKey = signer.map(s -> s.keyPair().getPrivate()).orElse(keys.getPrivate());
            String signature = "RSA".equals(signingKey.getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
            var contentSigner = new JcaContentSignerBuilder(signature).setProvider(Providers.bc())
                    .build(signingKey);
            var cert = new JcaX509CertificateConverter().setProvider(Providers.bc())
                    .getCertificate(b.build(contentSigner));
            List<java.security.cert.X509Certificate> issuers = new ArrayList<>();
            signer.ifPresent(s -> {
                // Send intermediates, never the self-signed root.
                if (!s.certificate().getSubjectX500Principal().equals(s.certificate().getIssuerX500Principal())) {
                    issuers.add(s.certificate());
                    issuers.addAll(s.issuers());
                }
            });
            return new HeldCertificate(keys, cert, issuers);
        } catch (GeneralSecurityException | OperatorCreationException | CertIOException e) {
            throw new IllegalStateException("cannot mint certificate: " + e.getMessage(), e);
        }
    }
}
