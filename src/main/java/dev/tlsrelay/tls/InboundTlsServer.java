package dev.tlsrelay.tls;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * TLS for the inbound listener's STARTTLS: one certificate, and a floor that may go down to TLS
 * 1.0 for old appliances, on this side only.
 *
 * <p>With a floor of TLS 1.2 or 1.3 the handshake is Bouncy Castle JSSE's, exactly as
 * {@link TlsServer} does it (modern suites, the JDK's disabled algorithms respected). With TLS 1.0
 * or 1.1 it is Bouncy Castle's low-level protocol behind a {@link LegacyTlsSocket}: no JSSE
 * provider can serve those versions in this process without editing {@code
 * jdk.tls.disabledAlgorithms} for everybody, and that would weaken the upstream side too. Either
 * way the caller gets an {@link SSLSocket} and one {@link TlsNegotiation} per attempt.
 */
public final class InboundTlsServer {

    private final HeldCertificate identity;
    private final InboundTlsVersion minVersion;
    private final Optional<TlsServer> modern;

    /**
     * @throws IllegalArgumentException if {@code minVersion} is a legacy version and the key is
     *                                  neither RSA nor ECDSA
     */
    public InboundTlsServer(HeldCertificate identity, InboundTlsVersion minVersion) {
        this.identity = identity;
        this.minVersion = minVersion;
        this.modern = minVersion.modern().map(v -> new TlsServer(identity, v));
        if (minVersion.isLegacy() && !LegacyTlsServer.canServe(identity.keyPair().getPrivate())) {
            throw new IllegalArgumentException("TLS 1.0/1.1 need an RSA or ECDSA key, not "
                    + identity.keyPair().getPrivate().getAlgorithm());
        }
    }

    /** Whether {@code key} can serve TLS 1.0/1.1 (RSA or ECDSA), for configuration checks. */
    public static boolean canServeLegacy(HeldCertificate identity) {
        return LegacyTlsServer.canServe(identity.keyPair().getPrivate());
    }

    public InboundTlsVersion minVersion() {
        return minVersion;
    }

    /** JSSE names of the versions served, newest first. */
    public List<String> protocols() {
        return minVersion.protocolsFromThisUp();
    }

    /**
     * Runs the server handshake over an accepted plain socket, on the calling thread, with every
     * read bounded by {@code timeout}. Never throws: a failure is a {@link TlsNegotiation} with its
     * reason, and the connection is then closed (a client whose handshake failed gets no further
     * plaintext).
     */
    public Handshake handshake(Socket plain, Duration timeout) {
        InetAddress peer = plain.getInetAddress();
        String peerHost = peer == null ? "unknown" : peer.getHostAddress();
        int peerPort = plain.getPort();
        Instant start = Instant.now();
        SSLSocket ssl = null;
        try {
            plain.setSoTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis())));
            ssl = modern.isPresent() ? modern.get().layerOver(plain)
                    : new LegacyTlsSocket(plain, new LegacyTlsServer(identity, minVersion));
            ssl.startHandshake();
            SSLSession session = ssl.getSession();
            return new Handshake(new TlsNegotiation(TlsNegotiation.Direction.INBOUND, peerHost, peerPort,
                    TlsMode.STARTTLS, start, Duration.between(start, Instant.now()), TlsNegotiation.Outcome.OK,
                    Optional.empty(), Optional.empty(), Optional.of(session.getProtocol()),
                    Optional.of(session.getCipherSuite()), Optional.empty()), Optional.of(ssl));
        } catch (IOException | RuntimeException e) {
            closeQuietly(ssl);
            closeQuietly(plain);
            FailureCode code = TlsClient.classify(e);
            String detail = code == FailureCode.PROTOCOL_VERSION
                    ? "no TLS version in common with the client: this listener accepts " + minVersion.configName()
                            + " and newer"
                    : TlsClient.describe(e);
            return new Handshake(new TlsNegotiation(TlsNegotiation.Direction.INBOUND, peerHost, peerPort,
                    TlsMode.STARTTLS, start, Duration.between(start, Instant.now()), TlsNegotiation.Outcome.FAILED,
                    Optional.of(code), Optional.of(detail), Optional.empty(), Optional.empty(), Optional.empty()),
                    Optional.empty());
        }
    }

    /**
     * The outcome of one inbound handshake.
     *
     * @param socket the TLS socket to continue the session on; present exactly when the negotiation is ok
     */
    public record Handshake(TlsNegotiation negotiation, Optional<SSLSocket> socket) {
        public Handshake {
            if (negotiation.ok() != socket.isPresent()) {
                throw new IllegalArgumentException("a socket goes with a successful handshake, and only with it");
            }
        }
    }

    private static void closeQuietly(Socket s) {
        if (s == null) {
            return;
        }
        try {
            s.close();
        } catch (IOException ignored) {
            // Already failing; the handshake error is what gets reported.
        }
    }
}
