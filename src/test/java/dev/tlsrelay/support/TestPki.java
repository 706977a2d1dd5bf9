package dev.tlsrelay.support;

import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/** Certificates minted per test: a root CA and leaves that are good, expired, misnamed or untrusted. */
public final class TestPki {

    public final HeldCertificate ca = new CertificateMinter().commonName("tlsrelay test CA").certificateAuthority()
            .validity(Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(365))).mint();

    /** Valid for localhost and 127.0.0.1, signed by {@link #ca}. */
    public HeldCertificate good() {
        return new CertificateMinter().names("localhost", "127.0.0.1").signedBy(ca).mint();
    }

    public HeldCertificate expired() {
        return new CertificateMinter().names("localhost", "127.0.0.1").signedBy(ca)
                .validity(Instant.now().minus(Duration.ofDays(30)), Instant.now().minus(Duration.ofDays(1))).mint();
    }

    public HeldCertificate wrongHost() {
        return new CertificateMinter().names("mail.wrong-host.test").signedBy(ca).mint();
    }

    /** Signed by a CA nobody trusts. */
    public static HeldCertificate untrusted() {
        HeldCertificate other = new CertificateMinter().commonName("some other CA").certificateAuthority().mint();
        return new CertificateMinter().names("localhost", "127.0.0.1").signedBy(other).mint();
    }

    public static HeldCertificate selfSigned() {
        return new CertificateMinter().names("localhost", "127.0.0.1").mint();
    }

    /** Writes the CA certificate as PEM into {@code dir} and returns the file. */
    public Path writeCa(Path dir) throws IOException {
        Path f = dir.resolve("ca.pem");
        Files.writeString(f, ca.certificatePem());
        return f;
    }
}
