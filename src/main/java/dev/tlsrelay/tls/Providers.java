package dev.tlsrelay.tls;

import java.security.AlgorithmParameters;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.NoSuchProviderException;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.Signature;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.KeyGenerator;
import javax.crypto.Mac;
import javax.crypto.NoSuchPaddingException;
import javax.crypto.SecretKeyFactory;
import org.bouncycastle.jcajce.util.DefaultJcaJceHelper;
import org.bouncycastle.jcajce.util.JcaJceHelper;
import org.bouncycastle.jcajce.util.ProviderJcaJceHelper;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * The Bouncy Castle providers, created once and never installed globally, so nothing else in the
 * process changes its crypto because of us; and the JDK's TLS provider for the client side.
 *
 * <p>The relay's TLS clients ({@link TlsClient}: upstream SMTP, probe and send-test, HTTPS fetches)
 * run on the JDK's own provider, SunJSSE, which resumes TLS 1.3 sessions (BCJSSE's client ignores
 * the server's session tickets, bc-java issue #946). The relay's TLS servers run on BCJSSE.
 *
 * <p>The server-side TLS provider (BCJSSE) takes each primitive from the JDK's own JCA providers first (SunJCE,
 * SunEC, SunRsaSign: AES-GCM, HMAC/HKDF, X25519, ECDH, ECDSA, RSA, which the JIT compiles to
 * AES-NI/CLMUL and other intrinsics), and from Bouncy Castle's JCA provider only what the JDK's do
 * not have under the names BCJSSE asks for (ChaCha20 and Poly1305 as two primitives, RSA-PSS as
 * {@code SHA256WITHRSAANDMGF1}). So the relay offers and accepts exactly what it did on Bouncy
 * Castle's crypto alone, and the bulk of the work (AES-GCM records) no longer runs in pure Java.
 * The protocol engine, versions, suites, groups and all verification are unchanged. Bouncy Castle's
 * JCA provider is still the one for minting certificates, for private keys the JDK's providers
 * refuse, and for the legacy (TLS 1.0/1.1) listener and probe, which use BC's low-level TLS API.
 */
final class Providers {

    private static final BouncyCastleProvider BC = new BouncyCastleProvider();
    private static final BouncyCastleJsseProvider JSSE = new BouncyCastleJsseProvider(false, new JdkFirstCrypto());
    private static final SecureRandom RANDOM = new SecureRandom();

    private Providers() {}

    static BouncyCastleProvider bc() {
        return BC;
    }

    static BouncyCastleJsseProvider jsse() {
        return JSSE;
    }

    static SecureRandom random() {
        return RANDOM;
    }

    /**
     * The JDK's own TLS provider, for the relay's client side (upstream SMTP, HTTPS fetches): unlike
     * BCJSSE's client (bc-java issue #946) it resumes TLS 1.3 sessions from the server's tickets.
     */
    static Provider clientJsse() {
        Provider sun = Security.getProvider("SunJSSE");
        if (sun == null) {
            throw new IllegalStateException("the JDK's TLS provider SunJSSE is not installed");
        }
        return sun;
    }

    /** BCJSSE's crypto: {@link JdkFirst} for everything, Bouncy Castle for private keys the JDK refuses. */
    private static final class JdkFirstCrypto extends JcaTlsCryptoProvider {
        private final JcaJceHelper helper = new JdkFirst();
        private final JcaJceHelper alternate = new ProviderJcaJceHelper(BC);

        @Override
        public JcaJceHelper getHelper() {
            return helper;
        }

        @Override
        public JcaJceHelper getAltHelper() {
            return alternate;
        }
    }

    /**
     * The providers installed in the JVM (the JDK's, unless an operator configured others), and
     * Bouncy Castle's for an algorithm none of them has.
     */
    static final class JdkFirst extends DefaultJcaJceHelper {
        private final JcaJceHelper jdk = new DefaultJcaJceHelper();
        private final ProviderJcaJceHelper bc = new ProviderJcaJceHelper(BC);

        /** One way of getting an implementation from a helper. */
        private interface Lookup<T> {
            T in(JcaJceHelper helper) throws NoSuchAlgorithmException, NoSuchProviderException;
        }

        /**
         * ML-KEM (the post-quantum half of the X25519MLKEM768 group BCJSSE offers) always comes from
         * Bouncy Castle: BCJSSE needs a KeyGenerator for it that only Bouncy Castle has, so its keys and
         * key factory come from there too, even on a JDK that has its own (24+).
         */
        private <T> T first(String algorithm, Lookup<T> lookup) throws NoSuchAlgorithmException {
            try {
                if (algorithm.regionMatches(true, 0, "ML-KEM", 0, 6)) {
                    return lookup.in(bc);
                }
                try {
                    return lookup.in(jdk);
                } catch (NoSuchAlgorithmException e) {
                    return lookup.in(bc);
                }
            } catch (NoSuchProviderException e) {
                throw new IllegalStateException("helpers built on provider objects never look a provider up", e);
            }
        }

        @Override
        public Cipher createCipher(String algorithm) throws NoSuchAlgorithmException, NoSuchPaddingException {
            try {
                return super.createCipher(algorithm);
            } catch (NoSuchAlgorithmException | NoSuchPaddingException e) {
                return bc.createCipher(algorithm);
            }
        }

        @Override
        public Mac createMac(String a) throws NoSuchAlgorithmException {
            return first(a, h -> h.createMac(a));
        }

        @Override
        public KeyAgreement createKeyAgreement(String a) throws NoSuchAlgorithmException {
            return first(a, h -> h.createKeyAgreement(a));
        }

        @Override
        public AlgorithmParameters createAlgorithmParameters(String a) throws NoSuchAlgorithmException {
            return first(a, h -> h.createAlgorithmParameters(a));
        }

        @Override
        public KeyGenerator createKeyGenerator(String a) throws NoSuchAlgorithmException {
            return first(a, h -> h.createKeyGenerator(a));
        }

        @Override
        public KeyFactory createKeyFactory(String a) throws NoSuchAlgorithmException {
            return first(a, h -> h.createKeyFactory(a));
        }

        @Override
        public SecretKeyFactory createSecretKeyFactory(String a) throws NoSuchAlgorithmException {
            return first(a, h -> h.createSecretKeyFactory(a));
        }

        @Override
        public KeyPairGenerator createKeyPairGenerator(String a) throws NoSuchAlgorithmException {
            return first(a, h -> h.createKeyPairGenerator(a));
        }

        @Override
        public MessageDigest createMessageDigest(String a) throws NoSuchAlgorithmException {
            return first(a, h -> h.createMessageDigest(a));
        }

        @Override
        public Signature createSignature(String a) throws NoSuchAlgorithmException {
            return first(a, h -> h.createSignature(a));
        }
    }
}
