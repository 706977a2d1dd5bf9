package dev.tlsrelay.tls;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * Server-side TLS with one certificate, TLS 1.2+ and modern suites only. Protocols and suites are
 * set on every socket explicitly, because some servers' helpers otherwise enable everything the
 * provider supports.
 */
public final class TlsServer {

    private final SSLContext context;
    private final List<String> protocols;

    public TlsServer(HeldCertificate identity, TlsVersion minVersion) {
        this(identity, minVersion, TlsVersion.TLS_1_3);
    }

    /** A server that also caps the version (to stand in for servers that lack TLS 1.3). */
    public TlsServer(HeldCertificate identity, TlsVersion minVersion, TlsVersion maxVersion) {
        this.protocols = minVersion.protocolsFromThisUp().stream()
                .filter(p -> TlsVersion.fromProtocolName(p).orElseThrow().compareTo(maxVersion) <= 0).toList();
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            char[] pw = "in-memory".toCharArray();
            ks.setKeyEntry("server", identity.keyPair().getPrivate(), pw, identity.chain());
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX", Providers.jsse());
            kmf.init(ks, pw);
            context = SSLContext.getInstance("TLS", Providers.jsse());
            context.init(kmf.getKeyManagers(), null, Providers.random());
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build server TLS context: " + e.getMessage(), e);
        }
    }

    /** Server TLS over an accepted plain socket (STARTTLS); the handshake starts on first I/O. */
    public SSLSocket layerOver(Socket plain) throws IOException {
        InetSocketAddress remote = (InetSocketAddress) plain.getRemoteSocketAddress();
        // getHostString: never a reverse DNS lookup.
        SSLSocket s = (SSLSocket) context.getSocketFactory()
                .createSocket(plain, remote.getHostString(), plain.getPort(), true);
        s.setUseClientMode(false);
        s.setSSLParameters(parameters());
        return s;
    }

    /** An unbound listening socket that speaks TLS from the first byte (implicit TLS). */
    public SSLServerSocket newServerSocket() throws IOException {
        SSLServerSocket s = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
        s.setSSLParameters(parameters());
        return s;
    }

    private SSLParameters parameters() {
        SSLParameters p = new SSLParameters();
        p.setProtocols(protocols.toArray(String[]::new));
        p.setCipherSuites(TlsPolicy.MODERN_CIPHER_SUITES.toArray(String[]::new));
        p.setUseCipherSuitesOrder(true);
        p.setNeedClientAuth(false);
        return p;
    }

    /** Protocol names this server accepts. */
    public List<String> protocols() {
        return protocols;
    }
}
