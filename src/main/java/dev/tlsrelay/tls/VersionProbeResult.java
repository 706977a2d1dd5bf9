package dev.tlsrelay.tls;

import java.time.Duration;
import java.util.Optional;

/**
 * What a server answered when offered exactly one TLS version.
 *
 * @param cipher   the suite the server chose (IANA name), when it accepted
 * @param detail   for a refusal, the alert or error in words; for an acceptance whose certificate
 *                 did not verify, why (the handshake was then cut short by us)
 * @param identity every check on the certificate chain the server presented, if it got that far
 */
public record VersionProbeResult(
        ProbedVersion version,
        Answer answer,
        Optional<String> cipher,
        Optional<String> detail,
        Optional<ServerIdentity> identity,
        Duration elapsed) {

    /** The server's answer to the offer. */
    public enum Answer {
        /** The server chose this version in its ServerHello. */
        ACCEPTED,
        /** The server refused (an alert, typically {@code protocol_version}, or a closed connection). */
        REFUSED,
        /** No answer within the timeout, or the connection broke before the server answered. */
        NO_ANSWER
    }

    public boolean accepted() {
        return answer == Answer.ACCEPTED;
    }
}
