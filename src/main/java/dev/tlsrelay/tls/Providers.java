package dev.tlsrelay.tls;

import java.security.SecureRandom;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;

/**
 * The Bouncy Castle providers, created once and never installed globally, so nothing else in the
 * process changes its crypto because of us.
 */
final class Providers {

    private static final BouncyCastleProvider BC = new BouncyCastleProvider();
    private static final BouncyCastleJsseProvider JSSE = new BouncyCastleJsseProvider(BC);
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
}
