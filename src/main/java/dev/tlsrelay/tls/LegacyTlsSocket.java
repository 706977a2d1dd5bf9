package dev.tlsrelay.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.security.Principal;
import java.security.cert.Certificate;
import javax.net.ssl.HandshakeCompletedListener;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.tls.TlsServerProtocol;

/**
 * A server-side {@link SSLSocket} over an accepted plain socket, whose TLS is Bouncy Castle's
 * low-level {@link TlsServerProtocol} driven by a {@link LegacyTlsServer}: the adapter that lets
 * code written for JSSE sockets (an SMTP session after STARTTLS) serve TLS 1.0 and 1.1 clients
 * without any JSSE provider, and so without touching {@code jdk.tls.disabledAlgorithms}.
 *
 * <p>What it supports is what a server session needs: {@link #startHandshake()} (idempotent),
 * the application-data streams, timeouts and addresses of the underlying socket, {@link #close()}
 * (sends close_notify, then closes the socket), and a {@link #getSession() session} that reports
 * the agreed protocol and cipher suite. Its policy (versions, suites, no client certificates) is
 * fixed at construction; the JSSE setters that would change it throw
 * {@link UnsupportedOperationException} rather than be silently ignored.
 */
final class LegacyTlsSocket extends SSLSocket {

    private final Socket plain;
    private final LegacyTlsServer server;
    private final LegacySession session = new LegacySession();
    private TlsServerProtocol protocol;
    private boolean handshakeDone;

    LegacyTlsSocket(Socket plain, LegacyTlsServer server) {
        this.plain = plain;
        this.server = server;
    }

    /**
     * Runs the server handshake on the calling thread, bounded by the plain socket's SO_TIMEOUT.
     * Does nothing once a handshake completed; after a failure the socket is closed.
     */
    @Override
    public synchronized void startHandshake() throws IOException {
        if (handshakeDone) {
            return;
        }
        if (protocol != null) {
            throw new SocketException("the TLS handshake already failed on this socket");
        }
        protocol = new TlsServerProtocol(plain.getInputStream(), plain.getOutputStream());
        try {
            protocol.accept(server);
        } catch (IOException | RuntimeException e) {
            closeQuietly();
            throw e;
        }
        handshakeDone = true;
    }

    @Override
    public InputStream getInputStream() throws IOException {
        return established().getInputStream();
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
        return established().getOutputStream();
    }

    private synchronized TlsServerProtocol established() throws SocketException {
        if (!handshakeDone) {
            throw new SocketException("TLS handshake not completed: call startHandshake() first");
        }
        return protocol;
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            if (protocol != null && handshakeDone) {
                protocol.close();
            }
        } finally {
            plain.close();
        }
    }

    private void closeQuietly() {
        try {
            plain.close();
        } catch (IOException ignored) {
            // The handshake failure is what gets reported.
        }
    }

    @Override
    public SSLSession getSession() {
        return session;
    }

    // ---- the underlying socket ------------------------------------------------------------

    @Override
    public void setSoTimeout(int timeout) throws SocketException {
        plain.setSoTimeout(timeout);
    }

    @Override
    public int getSoTimeout() throws SocketException {
        return plain.getSoTimeout();
    }

    @Override
    public InetAddress getInetAddress() {
        return plain.getInetAddress();
    }

    @Override
    public int getPort() {
        return plain.getPort();
    }

    @Override
    public InetAddress getLocalAddress() {
        return plain.getLocalAddress();
    }

    @Override
    public int getLocalPort() {
        return plain.getLocalPort();
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        return plain.getRemoteSocketAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return plain.getLocalSocketAddress();
    }

    @Override
    public boolean isConnected() {
        return plain.isConnected();
    }

    @Override
    public boolean isBound() {
        return plain.isBound();
    }

    @Override
    public boolean isClosed() {
        return plain.isClosed();
    }

    @Override
    public boolean isInputShutdown() {
        return plain.isInputShutdown();
    }

    @Override
    public boolean isOutputShutdown() {
        return plain.isOutputShutdown();
    }

    @Override
    public void setTcpNoDelay(boolean on) throws SocketException {
        plain.setTcpNoDelay(on);
    }

    @Override
    public boolean getTcpNoDelay() throws SocketException {
        return plain.getTcpNoDelay();
    }

    @Override
    public void setKeepAlive(boolean on) throws SocketException {
        plain.setKeepAlive(on);
    }

    @Override
    public boolean getKeepAlive() throws SocketException {
        return plain.getKeepAlive();
    }

    @Override
    public void setSoLinger(boolean on, int linger) throws SocketException {
        plain.setSoLinger(on, linger);
    }

    @Override
    public int getSoLinger() throws SocketException {
        return plain.getSoLinger();
    }

    @Override
    public void connect(SocketAddress endpoint, int timeout) throws IOException {
        throw new SocketException("already connected: TLS is layered over an accepted socket");
    }

    @Override
    public void bind(SocketAddress bindpoint) throws IOException {
        throw new SocketException("already bound: TLS is layered over an accepted socket");
    }

    @Override
    public void shutdownInput() throws IOException {
        throw new UnsupportedOperationException("half-close is not supported on a TLS socket");
    }

    @Override
    public void shutdownOutput() throws IOException {
        throw new UnsupportedOperationException("half-close is not supported on a TLS socket");
    }

    @Override
    public String toString() {
        return "LegacyTlsSocket[" + session.getProtocol() + ", " + plain + "]";
    }

    // ---- fixed TLS policy ---------------------------------------------------------------------

    @Override
    public String[] getSupportedCipherSuites() {
        return getEnabledCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
        return server.enabledSuiteNames().toArray(String[]::new);
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
        throw new UnsupportedOperationException("the suites of the legacy TLS listener are fixed");
    }

    @Override
    public String[] getSupportedProtocols() {
        return getEnabledProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
        return server.enabledProtocolNames().toArray(String[]::new);
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
        throw new UnsupportedOperationException("the versions of the legacy TLS listener are fixed");
    }

    @Override
    public void addHandshakeCompletedListener(HandshakeCompletedListener listener) {
        throw new UnsupportedOperationException("startHandshake() returns once the handshake completed");
    }

    @Override
    public void removeHandshakeCompletedListener(HandshakeCompletedListener listener) {
        // None can have been added.
    }

    @Override
    public void setUseClientMode(boolean mode) {
        if (mode) {
            throw new UnsupportedOperationException("this is a server socket");
        }
    }

    @Override
    public boolean getUseClientMode() {
        return false;
    }

    @Override
    public void setNeedClientAuth(boolean need) {
        if (need) {
            throw new UnsupportedOperationException("client certificates are not requested");
        }
    }

    @Override
    public boolean getNeedClientAuth() {
        return false;
    }

    @Override
    public void setWantClientAuth(boolean want) {
        setNeedClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
        return false;
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
        if (!flag) {
            throw new UnsupportedOperationException("session creation cannot be disabled");
        }
    }

    @Override
    public boolean getEnableSessionCreation() {
        return true;
    }

    /** What was agreed: protocol and suite (no session resumption, no client certificates). */
    private final class LegacySession implements SSLSession {
        private final long created = System.currentTimeMillis();

        @Override
        public String getProtocol() {
            return server.protocolName();
        }

        @Override
        public String getCipherSuite() {
            return server.cipherSuiteName();
        }

        @Override
        public byte[] getId() {
            return new byte[0];
        }

        @Override
        public SSLSessionContext getSessionContext() {
            return null;
        }

        @Override
        public long getCreationTime() {
            return created;
        }

        @Override
        public long getLastAccessedTime() {
            return created;
        }

        @Override
        public void invalidate() {
            // Never resumed, so there is nothing to invalidate.
        }

        @Override
        public boolean isValid() {
            return false; // not resumable
        }

        @Override
        public void putValue(String name, Object value) {
            throw new UnsupportedOperationException("no session values");
        }

        @Override
        public Object getValue(String name) {
            return null;
        }

        @Override
        public void removeValue(String name) {
            // None stored.
        }

        @Override
        public String[] getValueNames() {
            return new String[0];
        }

        @Override
        public Certificate[] getPeerCertificates() throws SSLPeerUnverifiedException {
            throw new SSLPeerUnverifiedException("client certificates are not requested");
        }

        @Override
        public Certificate[] getLocalCertificates() {
            return server.localChain();
        }

        @Override
        public Principal getPeerPrincipal() throws SSLPeerUnverifiedException {
            throw new SSLPeerUnverifiedException("client certificates are not requested");
        }

        @Override
        public Principal getLocalPrincipal() {
            return server.localChain()[0].getSubjectX500Principal();
        }

        @Override
        public String getPeerHost() {
            return plain.getInetAddress() == null ? null : plain.getInetAddress().getHostAddress();
        }

        @Override
        public int getPeerPort() {
            return plain.getPort();
        }

        @Override
        public int getPacketBufferSize() {
            return 16384 + 2048 + 5; // record payload, expansion, header
        }

        @Override
        public int getApplicationBufferSize() {
            return 16384;
        }
    }
}
