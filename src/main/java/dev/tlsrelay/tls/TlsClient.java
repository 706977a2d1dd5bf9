package dev.tlsrelay.tls;

import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;

/**
 * Opens verified client TLS sessions under one {@link TlsPolicy}. Used for every upstream
 * connection; {@link #forConnection} gives the socket factory of one connection, which handshakes
 * and records the negotiation.
 *
 * <p>The TLS stack is the JDK's own (SunJSSE, {@link Providers#clientJsse()}), chosen because it
 * resumes TLS 1.3 sessions; everything it decides on its own is switched off or checked again here:
 * it does no endpoint identification (the host is {@link VerifyingTrustManager}'s to check), a
 * resumed session's certificate is verified again in {@link ConnectionTls#verify}, and the reason of
 * a failed handshake comes from the trust manager or from the TLS alert as {@link HandshakeAlerts}
 * reads it off the wire, never from exception text.
 */
public final class TlsClient {

    /** How long a TLS session may be resumed. */
    private static final int SESSION_TIMEOUT_SECONDS = 3600;

    private final TlsPolicy policy;
    private final X509TrustManager pkix;
    private final Map<Socket, VerifyingTrustManager> verifiers = new ConcurrentHashMap<>();
    private final SSLContext context;

    /**
     * One SSL context for every connection under this policy, so that its client session cache lets
     * new connections to the same server resume (TLS 1.2 session ids and tickets, TLS 1.3 PSK).
     *
     * @throws GeneralSecurityException if the trust anchors cannot be turned into a trust manager
     */
    public TlsClient(TlsPolicy policy) throws GeneralSecurityException {
        this.policy = policy;
        this.pkix = policy.trust().pkixTrustManager();
        this.context = SSLContext.getInstance("TLS", Providers.clientJsse());
        context.init(null, new TrustManager[] {new PerConnectionTrust()}, Providers.random());
        context.getClientSessionContext().setSessionTimeout(SESSION_TIMEOUT_SECONDS);
    }

    /**
     * Hands each handshake to the verifier of its own connection, which knows the host that
     * connection was opened for and records exactly why a server was refused.
     */
    private final class PerConnectionTrust extends ServerOnlyTrustManager {
        private VerifyingTrustManager of(Socket socket) throws CertificateException {
            VerifyingTrustManager v = socket == null ? null : verifiers.get(socket);
            if (v == null) {
                throw new CertificateException("no verifier registered for this connection");
            }
            return v;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            of(socket).checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            throw new CertificateException("the relay verifies sockets, not engines");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a server is only verified for a known connection");
        }


        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pkix.getAcceptedIssuers();
        }
    }

    public TlsPolicy policy() {
        return policy;
    }

    /**
     * A socket factory for one connection to {@code host}. Its only supported use is layering TLS
     * over an already connected socket, which is what STARTTLS and (in Angus Mail) implicit TLS do.
     */
    public ConnectionTls forConnection(String host, int port, TlsMode mode) {
        return new ConnectionTls(host, port, mode);
    }

    /**
     * A client context whose trust manager verifies {@code host} under this policy, for a client
     * that makes its own connections, such as the HTTPS fetch of an MTA-STS policy. Use it with
     * {@link #parametersFor(String)}; one context per host.
     */
    public SSLContext contextVerifying(String host) throws GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("TLS", Providers.clientJsse());
        ctx.init(null, new TrustManager[] {new VerifyingTrustManager(policy, host, pkix)}, Providers.random());
        return ctx;
    }

    /** This policy's versions and suites, with SNI for {@code host} and no endpoint identification of the provider's. */
    public SSLParameters parametersFor(String host) {
        SSLParameters p = new SSLParameters();
        p.setProtocols(policy.minVersion().protocolsFromThisUp().toArray(String[]::new));
        p.setCipherSuites(policy.cipherSuites().toArray(String[]::new));
        // Host identity is decided by VerifyingTrustManager alone: one place, one answer.
        p.setEndpointIdentificationAlgorithm(null);
        if (!HostnameMatcher.isIpLiteral(host)) {
            try {
                p.setServerNames(List.of(new SNIHostName(host)));
            } catch (IllegalArgumentException e) {
                // Not a valid SNI name (e.g. underscores): send none; verification is unaffected.
            }
        }
        return p;
    }

    /** A failed negotiation that never reached a handshake (connect failure, no STARTTLS, timeout). */
    public static TlsNegotiation failedBeforeHandshake(String host, int port, TlsMode mode, Instant start,
            FailureCode code, String detail) {
        return new TlsNegotiation(TlsNegotiation.Direction.UPSTREAM, host, port, mode, start,
                Duration.between(start, Instant.now()), TlsNegotiation.Outcome.FAILED, Optional.of(code),
                Optional.of(detail), Optional.empty(), Optional.empty(), Optional.empty());
    }

    /**
     * The TLS layer of one upstream connection. The SMTP client layers TLS with
     * {@link #createSocket(Socket, String, int, boolean)}, handshakes, and then calls
     * {@link #verify(String, SSLSession)}, which records the successful negotiation; a failed
     * handshake is recorded with {@link #failed(Throwable)}. Either way the outcome is known before
     * the caller sends a byte over the connection.
     */
    public final class ConnectionTls extends SSLSocketFactory implements HostnameVerifier {
        private final String host;
        private final int port;
        private final TlsMode mode;
        private volatile TlsNegotiation negotiation;
        private volatile SSLSocket socket;
        private volatile VerifyingTrustManager trustManager;
        private volatile HandshakeAlerts alerts;
        private volatile Instant start;

        private ConnectionTls(String host, int port, TlsMode mode) {
            this.host = host;
            this.port = port;
            this.mode = mode;
        }

        /** The negotiation, once a handshake completed (or {@link #failed} recorded its failure). */
        public Optional<TlsNegotiation> negotiation() {
            return Optional.ofNullable(negotiation);
        }

        /**
         * Every check on the chain the server presented (trust, host name, pin), once the handshake
         * got as far as the certificate: also when one of them made the relay refuse the server.
         */
        public Optional<ServerIdentity> identity() {
            VerifyingTrustManager tm = trustManager;
            return tm == null ? Optional.empty() : tm.identity();
        }

        /** Whether TLS was layered over the connection (a handshake was at least attempted). */
        public boolean handshakeAttempted() {
            return socket != null;
        }

        @Override
        public Socket createSocket(Socket plain, String ignoredHost, int ignoredPort, boolean autoClose)
                throws IOException {
            VerifyingTrustManager tm = new VerifyingTrustManager(policy, host, pkix);
            // SMTP is lock-step and the TLS layer sends a handshake flight, a command or a body's
            // last record as separate small writes: with Nagle on, one of them can wait for the
            // peer's delayed ACK (40 ms on Linux).
            plain.setTcpNoDelay(true);
            // Always the configured host: what we verify must be what we asked for. Host and port
            // also key the session cache, so a session is only ever resumed with the same server.
            // The alerts of the handshake are read off the wire: the JDK's TLS names them only in text.
            HandshakeAlerts watched = new HandshakeAlerts();
            SSLSocket ssl = (SSLSocket) context.getSocketFactory().createSocket(watched.watch(plain), host, port,
                    autoClose);
            verifiers.put(ssl, tm);
            ssl.setUseClientMode(true);
            ssl.setSSLParameters(parametersFor(host));
            ssl.setSoTimeout((int) policy.handshakeTimeout().toMillis());
            trustManager = tm;
            alerts = watched;
            start = Instant.now();
            socket = ssl;
            return ssl;
        }

        /**
         * Called by the SMTP client right after a completed handshake. The trust manager has already
         * verified the server (a handshake it rejects never gets here); this records the facts.
         */
        @Override
        public boolean verify(String ignoredHost, SSLSession session) {
            VerifyingTrustManager tm = trustManager;
            verifiers.remove(socket);
            if (tm == null) {
                negotiation = failure(FailureCode.HANDSHAKE_FAILED, "no TLS layer was set up by the relay");
                return false;
            }
            boolean resumed = tm.leaf().isEmpty();
            if (resumed) {
                // A resumed session skips the trust manager: verify its certificate again, here.
                try {
                    java.security.cert.Certificate[] peer = session.getPeerCertificates();
                    tm.verifyResumed(java.util.Arrays.copyOf(peer, peer.length, X509Certificate[].class));
                } catch (javax.net.ssl.SSLPeerUnverifiedException | CertificateException | ArrayStoreException e) {
                    negotiation = failure(tm.failure().orElse(FailureCode.HANDSHAKE_FAILED),
                            tm.failureDetail().orElse("resumed session without a verifiable certificate: " + e));
                    return false;
                }
            }
            negotiation = new TlsNegotiation(TlsNegotiation.Direction.UPSTREAM, host, port, mode, start,
                    Duration.between(start, Instant.now()), TlsNegotiation.Outcome.OK, Optional.empty(),
                    Optional.empty(), Optional.of(session.getProtocol()), Optional.of(session.getCipherSuite()),
                    tm.leaf().map(CertificateFacts::of), resumed);
            return true;
        }

        /**
         * Records a failed handshake: the trust manager's verdict when it rejected the server,
         * otherwise the reason read from the TLS alert.
         */
        public TlsNegotiation failed(Throwable cause) {
            SSLSocket s = socket;
            if (s != null) {
                verifiers.remove(s);
            }
            if (negotiation == null) {
                VerifyingTrustManager tm = trustManager;
                FailureCode code = tm != null && tm.failure().isPresent() ? tm.failure().get()
                        : classify(cause, alerts);
                String detail = tm != null && tm.failureDetail().isPresent() ? tm.failureDetail().get()
                        : describe(cause);
                negotiation = failure(code, detail);
            }
            return negotiation;
        }

        /** Closes the TLS socket at once, without any protocol goodbye (to abandon a transfer). */
        public void closeSocket() {
            SSLSocket s = socket;
            if (s != null) {
                closeQuietly(s);
            }
        }

        private TlsNegotiation failure(FailureCode code, String detail) {
            VerifyingTrustManager tm = trustManager;
            Instant began = start == null ? Instant.now() : start;
            return new TlsNegotiation(TlsNegotiation.Direction.UPSTREAM, host, port, mode, began,
                    Duration.between(began, Instant.now()), TlsNegotiation.Outcome.FAILED, Optional.of(code),
                    Optional.of(detail), Optional.empty(), Optional.empty(),
                    tm == null ? Optional.empty() : tm.leaf().map(CertificateFacts::of));
        }

        @Override
        public Socket createSocket(String h, int p) throws IOException {
            throw new IOException("TLS is only layered over a connected socket here");
        }

        @Override
        public Socket createSocket(String h, int p, java.net.InetAddress la, int lp) throws IOException {
            throw new IOException("TLS is only layered over a connected socket here");
        }

        @Override
        public Socket createSocket(java.net.InetAddress a, int p) throws IOException {
            throw new IOException("TLS is only layered over a connected socket here");
        }

        @Override
        public Socket createSocket(java.net.InetAddress a, int p, java.net.InetAddress la, int lp)
                throws IOException {
            throw new IOException("TLS is only layered over a connected socket here");
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return policy.cipherSuites().toArray(String[]::new);
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return getDefaultCipherSuites();
        }
    }

    /**
     * The reason of an upstream handshake failure the trust manager did not cause: a timeout, or
     * the TLS alert either side sent in the clear, as {@code alerts} read it off the wire.
     */
    static FailureCode classify(Throwable e, HandshakeAlerts alerts) {
        FailureCode code = classify(e);
        if (code == FailureCode.HANDSHAKE_FAILED && alerts != null && alerts.protocolVersion()) {
            return FailureCode.PROTOCOL_VERSION;
        }
        return code;
    }

    /**
     * The reason of a handshake failure the trust manager did not cause: a timeout, or the TLS
     * alert of a Bouncy Castle TLS stack (the inbound listeners).
     */
    static FailureCode classify(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException) {
                return FailureCode.TIMEOUT;
            }
            short alert = -1;
            if (t instanceof TlsFatalAlertReceived r) {
                alert = r.getAlertDescription();
            } else if (t instanceof TlsFatalAlert f) {
                alert = f.getAlertDescription();
            }
            if (alert == AlertDescription.protocol_version) {
                return FailureCode.PROTOCOL_VERSION;
            }
        }
        return FailureCode.HANDSHAKE_FAILED;
    }

    /** The message of an exception and its causes, for the log and audit. */
    public static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null && sb.length() < 500; t = t.getCause()) {
            if (!sb.isEmpty()) {
                sb.append(": ");
            }
            sb.append(t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName());
        }
        return sb.toString();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // Already failing; the handshake error is the one to report.
        }
    }
}
