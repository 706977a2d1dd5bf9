package dev.tlsrelay.tls;

import java.io.IOException;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Vector;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateEntry;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.SignatureScheme;
import org.bouncycastle.tls.TlsCredentialedDecryptor;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaDefaultTlsCredentialedSigner;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;
import org.bouncycastle.tls.crypto.impl.jcajce.JceDefaultTlsCredentialedDecryptor;

/**
 * One server-side handshake with Bouncy Castle's low-level TLS API, for a listener that must still
 * serve TLS 1.0 or 1.1. That API reads no security or system property, so the legacy versions and
 * suites below exist only inside this class: the JDK's {@code jdk.tls.disabledAlgorithms} stays as
 * it is, and every JSSE context in the process (the upstream side included) keeps refusing them.
 *
 * <p>Suites, in server order (as of 2026-11): the TLS 1.3 suites, forward-secret AEAD suites for TLS
 * 1.2, then ECDHE with AES-CBC-SHA (the best a TLS 1.0/1.1 client can do) and, for RSA
 * certificates, {@code TLS_RSA_WITH_AES_128_CBC_SHA} last, for appliances without ECDHE. No RC4,
 * 3DES, export or anonymous suites, no compression, no renegotiation; {@code TLS_FALLBACK_SCSV} is
 * honoured. Only RSA and ECDSA keys can serve these versions.
 *
 * <p>Not thread-safe: one instance per handshake (it holds that handshake's state).
 */
final class LegacyTlsServer extends DefaultTlsServer {

    /** The suites offered with an RSA certificate, with their standard names. */
    private static final Map<Integer, String> RSA_SUITES = suites(
            CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
            CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            // No forward secrecy: only for appliances that cannot do ECDHE at all.
            CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA, "TLS_RSA_WITH_AES_128_CBC_SHA");

    /** The suites offered with an ECDSA certificate. */
    private static final Map<Integer, String> ECDSA_SUITES = suites(
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA");

    private static final Map<Integer, String> TLS13_SUITES = suites(
            CipherSuite.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384",
            CipherSuite.TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256",
            CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256");

    /** TLS 1.2 signature schemes, strong first; SHA-1 only for a client that offers nothing else. */
    private static final List<Integer> RSA_SCHEMES_TLS12 = List.of(SignatureScheme.rsa_pss_rsae_sha256,
            SignatureScheme.rsa_pss_rsae_sha384, SignatureScheme.rsa_pss_rsae_sha512,
            SignatureScheme.rsa_pkcs1_sha256, SignatureScheme.rsa_pkcs1_sha384, SignatureScheme.rsa_pkcs1_sha512);
    private static final List<Integer> RSA_SCHEMES_TLS13 = List.of(SignatureScheme.rsa_pss_rsae_sha256,
            SignatureScheme.rsa_pss_rsae_sha384, SignatureScheme.rsa_pss_rsae_sha512);
    private static final List<Integer> ECDSA_SCHEMES_TLS12 = List.of(SignatureScheme.ecdsa_secp256r1_sha256,
            SignatureScheme.ecdsa_secp384r1_sha384, SignatureScheme.ecdsa_secp521r1_sha512);

    /** Bouncy Castle's JCA crypto on our own (never globally installed) provider. */
    private static final JcaTlsCrypto CRYPTO =
            new JcaTlsCryptoProvider().setProvider(Providers.bc()).create(Providers.random());

    private final HeldCertificate identity;
    private final InboundTlsVersion minVersion;
    private final ProtocolVersion[] versions;
    private final boolean rsaKey;
    private volatile ProtocolVersion agreedVersion;
    private volatile int agreedSuite = -1;

    LegacyTlsServer(HeldCertificate identity, InboundTlsVersion minVersion) {
        super(CRYPTO);
        this.identity = identity;
        this.minVersion = minVersion;
        this.versions = ProtocolVersion.TLSv13.downTo(bcVersion(minVersion));
        this.rsaKey = keyType(identity.keyPair().getPrivate()) == KeyType.RSA;
    }

    /** Whether this key can serve the legacy versions at all (RSA or ECDSA). */
    static boolean canServe(PrivateKey key) {
        return keyType(key) != KeyType.OTHER;
    }

    /** The agreed version as a JSSE protocol name ({@code TLSv1} for TLS 1.0), after the handshake. */
    String protocolName() {
        ProtocolVersion v = agreedVersion;
        if (v == null) {
            return "NONE";
        }
        for (InboundTlsVersion iv : InboundTlsVersion.values()) {
            if (bcVersion(iv).equals(v)) {
                return iv.protocolName();
            }
        }
        return v.getName();
    }

    /** The agreed suite's standard name, after the handshake. */
    String cipherSuiteName() {
        int s = agreedSuite;
        String name = TLS13_SUITES.get(s);
        if (name == null) {
            name = (rsaKey ? RSA_SUITES : ECDSA_SUITES).get(s);
        }
        return name == null ? "SSL_NULL_WITH_NULL_NULL" : name;
    }

    /** JSSE names of the versions served, newest first. */
    List<String> enabledProtocolNames() {
        return minVersion.protocolsFromThisUp();
    }

    X509Certificate[] localChain() {
        return identity.chain();
    }

    /** Standard names of the suites offered, in server order. */
    List<String> enabledSuiteNames() {
        List<String> out = new ArrayList<>(TLS13_SUITES.values());
        out.addAll((rsaKey ? RSA_SUITES : ECDSA_SUITES).values());
        return out;
    }

    @Override
    protected ProtocolVersion[] getSupportedVersions() {
        return versions.clone();
    }

    @Override
    protected int[] getSupportedCipherSuites() {
        List<Integer> all = new ArrayList<>(TLS13_SUITES.keySet());
        all.addAll((rsaKey ? RSA_SUITES : ECDSA_SUITES).keySet());
        return TlsUtils.getSupportedCipherSuites(getCrypto(), all.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Our order, not the client's: an old client may well list its weakest suite first. */
    @Override
    protected boolean preferLocalCipherSuites() {
        return true;
    }

    /**
     * A device that closes the connection without close_notify has simply gone (many do after
     * QUIT). SMTP frames its own data (a message ends only at CRLF.CRLF), so a truncated stream
     * cannot pass for a complete message.
     */
    @Override
    public boolean requiresCloseNotify() {
        return false;
    }

    @Override
    public TlsCredentials getCredentials() throws IOException {
        if (TlsUtils.isTLSv13(context)) {
            List<Integer> schemes = rsaKey ? RSA_SCHEMES_TLS13 : List.of(tls13EcdsaScheme());
            return signer(chooseScheme(schemes, List.of()));
        }
        return super.getCredentials();
    }

    @Override
    protected TlsCredentialedSigner getRSASignerCredentials() throws IOException {
        return signer(tls12Signature(RSA_SCHEMES_TLS12, SignatureScheme.rsa_pkcs1_sha1));
    }

    @Override
    protected TlsCredentialedSigner getECDSASignerCredentials() throws IOException {
        return signer(tls12Signature(ECDSA_SCHEMES_TLS12, SignatureScheme.ecdsa_sha1));
    }

    @Override
    protected TlsCredentialedDecryptor getRSAEncryptionCredentials() throws IOException {
        return new JceDefaultTlsCredentialedDecryptor(CRYPTO, certificate(false), identity.keyPair().getPrivate());
    }

    @Override
    public void notifyHandshakeComplete() throws IOException {
        super.notifyHandshakeComplete();
        agreedVersion = context.getServerVersion();
        agreedSuite = context.getSecurityParametersConnection().getCipherSuite();
    }

    /**
     * TLS 1.0 and 1.1 sign with a fixed hash (MD5+SHA-1 for RSA, SHA-1 for ECDSA): no algorithm to
     * choose. TLS 1.2 signs with one the client offered.
     */
    private SignatureAndHashAlgorithm tls12Signature(List<Integer> strong, int sha1Scheme) throws IOException {
        if (!TlsUtils.isSignatureAlgorithmsExtensionAllowed(context.getServerVersion())) {
            return null;
        }
        return chooseScheme(strong, List.of(sha1Scheme));
    }

    /**
     * The first scheme in the client's list (its preference order) that we can sign with, strong
     * ones before {@code fallback}. A TLS 1.2 client that sent no list implies SHA-1 (RFC 5246
     * 7.4.1.4.1).
     */
    @SuppressWarnings("unchecked")
    private SignatureAndHashAlgorithm chooseScheme(List<Integer> strong, List<Integer> fallback) throws IOException {
        Vector<SignatureAndHashAlgorithm> offered = context.getSecurityParametersHandshake().getClientSigAlgs();
        if (offered == null) {
            if (!fallback.isEmpty()) {
                return SignatureScheme.getSignatureAndHashAlgorithm(fallback.get(0));
            }
            throw new TlsFatalAlert(AlertDescription.handshake_failure, "client sent no signature algorithms");
        }
        for (List<Integer> acceptable : List.of(strong, fallback)) {
            for (SignatureAndHashAlgorithm a : offered) {
                if (acceptable.contains(SignatureScheme.from(a))) {
                    return a;
                }
            }
        }
        throw new TlsFatalAlert(AlertDescription.handshake_failure,
                "no signature algorithm in common with the client for a " + (rsaKey ? "RSA" : "ECDSA") + " key");
    }

    /** TLS 1.3 binds the ECDSA scheme to the key's curve. */
    private int tls13EcdsaScheme() throws IOException {
        if (identity.keyPair().getPrivate() instanceof ECPrivateKey ec) {
            int bits = ec.getParams().getCurve().getField().getFieldSize();
            return switch (bits) {
                case 256 -> SignatureScheme.ecdsa_secp256r1_sha256;
                case 384 -> SignatureScheme.ecdsa_secp384r1_sha384;
                case 521 -> SignatureScheme.ecdsa_secp521r1_sha512;
                default -> throw new TlsFatalAlert(AlertDescription.internal_error, "unsupported curve size " + bits);
            };
        }
        throw new TlsFatalAlert(AlertDescription.internal_error, "not an EC key");
    }

    private TlsCredentialedSigner signer(SignatureAndHashAlgorithm algorithm) throws IOException {
        return new JcaDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), CRYPTO,
                identity.keyPair().getPrivate(), certificate(TlsUtils.isTLSv13(context)), algorithm);
    }

    /** The chain in the encoding of the agreed version (TLS 1.3 wraps each certificate in an entry). */
    private Certificate certificate(boolean tls13) throws IOException {
        X509Certificate[] chain = identity.chain();
        TlsCertificate[] certs = new TlsCertificate[chain.length];
        try {
            for (int i = 0; i < chain.length; i++) {
                certs[i] = CRYPTO.createCertificate(chain[i].getEncoded());
            }
        } catch (CertificateEncodingException e) {
            throw new TlsFatalAlert(AlertDescription.internal_error, e);
        }
        if (!tls13) {
            return new Certificate(certs);
        }
        CertificateEntry[] entries = new CertificateEntry[certs.length];
        for (int i = 0; i < certs.length; i++) {
            entries[i] = new CertificateEntry(certs[i], null);
        }
        return new Certificate(TlsUtils.EMPTY_BYTES, entries);
    }

    private enum KeyType {
        RSA,
        ECDSA,
        OTHER
    }

    private static KeyType keyType(PrivateKey key) {
        if (key instanceof RSAPrivateKey || "RSA".equalsIgnoreCase(key.getAlgorithm())) {
            return KeyType.RSA;
        }
        if (key instanceof ECPrivateKey) {
            return KeyType.ECDSA;
        }
        return KeyType.OTHER;
    }

    private static ProtocolVersion bcVersion(InboundTlsVersion v) {
        return switch (v) {
            case TLS_1_0 -> ProtocolVersion.TLSv10;
            case TLS_1_1 -> ProtocolVersion.TLSv11;
            case TLS_1_2 -> ProtocolVersion.TLSv12;
            case TLS_1_3 -> ProtocolVersion.TLSv13;
        };
    }

    private static Map<Integer, String> suites(Object... codeNamePairs) {
        Map<Integer, String> m = new LinkedHashMap<>();
        for (int i = 0; i < codeNamePairs.length; i += 2) {
            m.put((Integer) codeNamePairs[i], (String) codeNamePairs[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
