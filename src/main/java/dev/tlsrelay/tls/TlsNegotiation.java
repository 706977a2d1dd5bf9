package dev.tlsrelay.tls;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The facts of one TLS negotiation, successful or not: who, when, how long, what was agreed, and
 * for a failure the stable reason. A value with no behaviour; the audit writes one per negotiation.
 *
 * @param failure  empty exactly when {@code outcome} is {@link Outcome#OK}
 * @param detail   a human explanation of a failure (the seen pins, the names on the certificate)
 * @param protocol negotiated version, when a handshake completed
 * @param leaf     the server certificate, when one was received (also on verification failures)
 * @param resumed  an earlier TLS session was resumed (no full handshake; the server's certificate
 *                 from that session was verified again)
 */
public record TlsNegotiation(
        Direction direction,
        String peerHost,
        int peerPort,
        TlsMode mode,
        Instant at,
        Duration handshake,
        Outcome outcome,
        Optional<FailureCode> failure,
        Optional<String> detail,
        Optional<String> protocol,
        Optional<String> cipher,
        Optional<CertificateFacts> leaf,
        boolean resumed) {

    /** Which side of the relay the peer was on. */
    public enum Direction {
        UPSTREAM,
        INBOUND
    }

    /** Did the connection end up encrypted and verified. */
    public enum Outcome {
        OK,
        FAILED
    }

    public TlsNegotiation {
        if ((outcome == Outcome.OK) == failure.isPresent()) {
            throw new IllegalArgumentException("a failure code goes with a failed outcome, and only with it");
        }
    }

    /** A negotiation with a full handshake (not resumed). */
    public TlsNegotiation(Direction direction, String peerHost, int peerPort, TlsMode mode, Instant at,
            Duration handshake, Outcome outcome, Optional<FailureCode> failure, Optional<String> detail,
            Optional<String> protocol, Optional<String> cipher, Optional<CertificateFacts> leaf) {
        this(direction, peerHost, peerPort, mode, at, handshake, outcome, failure, detail, protocol, cipher, leaf,
                false);
    }

    public boolean ok() {
        return outcome == Outcome.OK;
    }
}
