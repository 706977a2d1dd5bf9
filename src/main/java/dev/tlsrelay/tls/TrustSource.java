package dev.tlsrelay.tls;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The trust anchors a chain must lead to: the JDK's own trust store, or the CA certificates of one
 * PEM bundle (and then only those: a private CA does not silently widen to the public ones).
 */
public final class TrustSource {

    private final Optional<Path> pemFile;
    private final List<X509Certificate> anchors;

    private TrustSource(Optional<Path> pemFile, List<X509Certificate> anchors) {
        this.pemFile = pemFile;
        this.anchors = List.copyOf(anchors);
    }

    /** The trust store of the running JDK ({@code lib/security/cacerts}). */
    public static TrustSource jdkDefault() {
        return new TrustSource(Optional.empty(), List.of());
    }

    /**
     * The certificates of a PEM bundle.
     *
     * @throws IOException if the file cannot be read or holds no certificate
     */
    public static TrustSource fromPemFile(Path file) throws IOException {
        List<X509Certificate> certs = Pem.readCertificates(file);
        if (certs.isEmpty()) {
            throw new IOException("no CERTIFICATE block in " + file);
        }
        return new TrustSource(Optional.of(file), certs);
    }

    /** Trust exactly these certificates (used where the anchors were minted in memory). */
    public static TrustSource of(List<X509Certificate> anchors) {
        if (anchors.isEmpty()) {
            throw new IllegalArgumentException("at least one trust anchor is needed");
        }
        return new TrustSource(Optional.empty(), anchors);
    }

    /** Where the anchors come from, for people: a file name or "JDK trust store". */
    public String describe() {
        if (pemFile.isPresent()) {
            return pemFile.get().toString();
        }
        return anchors.isEmpty() ? "JDK trust store" : anchors.size() + " in-memory CA certificate(s)";
    }

    /** A PKIX trust manager over these anchors (chain validation only; host names are ours to check). */
    X509TrustManager pkixTrustManager() throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        if (anchors.isEmpty()) {
            tmf.init((KeyStore) null);
        } else {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try {
                ks.load(null, null);
            } catch (IOException e) {
                throw new GeneralSecurityException(e);
            }
            int i = 0;
            for (X509Certificate c : anchors) {
                ks.setCertificateEntry("anchor-" + i++, c);
            }
            tmf.init(ks);
        }
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("the JDK offers no X509TrustManager");
    }

    @Override
    public String toString() {
        return describe();
    }
}
