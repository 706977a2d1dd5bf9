package dev.tlsrelay.support;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Optional;

/** Starts the project's own TLS catcher as a real upstream on an ephemeral loopback port. */
public final class Catchers {

    private Catchers() {}

    public static Catcher start(Path dir, TlsMode mode, HeldCertificate identity) throws IOException {
        return start(dir, mode, identity, Optional.empty());
    }

    public static Catcher start(Path dir, TlsMode mode, HeldCertificate identity,
            Optional<Catcher.Credentials> auth) throws IOException {
        return startOn(0, dir, mode, identity, auth);
    }

    /** A catcher on a given port (to bring an upstream "back up" where the relay expects it). */
    public static Catcher startOn(int port, Path dir, TlsMode mode, HeldCertificate identity,
            Optional<Catcher.Credentials> auth) throws IOException {
        return Catcher.start(new Catcher.Options(new InetSocketAddress("127.0.0.1", port), mode,
                new TlsServer(identity, TlsVersion.TLS_1_2), dir, auth));
    }

    /** A loopback port nothing listens on right now (an upstream that is down). */
    public static int unusedPort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }
}
