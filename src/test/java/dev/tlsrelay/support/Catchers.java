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
        return Catcher.start(new Catcher.Options(new InetSocketAddress("127.0.0.1", 0), mode,
                new TlsServer(identity, TlsVersion.TLS_1_2), dir, auth));
    }
}
