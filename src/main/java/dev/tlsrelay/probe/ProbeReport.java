package dev.tlsrelay.probe;

import dev.tlsrelay.tls.ServerIdentity;
import dev.tlsrelay.tls.TlsNegotiation;
import dev.tlsrelay.tls.VersionProbeResult;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Everything one probe of one server found: facts first, then the verdicts drawn from them.
 *
 * @param failedAt    the step where the relay's own connection attempt stopped; empty if it got
 *                    through (TLS verified and EHLO answered after TLS)
 * @param connectedTo the address actually connected to, e.g. {@code 127.0.0.1:587}
 * @param greeting    the server's greeting reply, on one line
 * @param beforeTls   EHLO capabilities before STARTTLS (empty for implicit TLS)
 * @param startTls    the reply to STARTTLS, when it was sent
 * @param negotiation the relay's own handshake, exactly as the relay would do it (or why there
 *                    was none: connect failure, no STARTTLS, timeout)
 * @param afterTls    EHLO capabilities once TLS is up
 * @param versions    the server's answer to each TLS version offered on its own
 * @param identity    every check on the server's certificate chain, from the relay's handshake or,
 *                    when that never reached the certificate, from the best version the server accepted
 * @param chain       the certificates the server sent, leaf first
 */
public record ProbeReport(
        ProbeRequest request,
        Instant at,
        Optional<Step> failedAt,
        Optional<String> connectedTo,
        Optional<String> greeting,
        Optional<Capabilities> beforeTls,
        Optional<String> startTls,
        TlsNegotiation negotiation,
        Optional<Capabilities> afterTls,
        List<VersionProbeResult> versions,
        Optional<ServerIdentity> identity,
        List<CertificateDetail> chain,
        List<Finding> findings) {

    /** The steps of an SMTP connection, in order. */
    public enum Step {
        CONNECT,
        GREETING,
        EHLO,
        STARTTLS,
        HANDSHAKE,
        EHLO_AFTER_TLS;

        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public ProbeReport {
        versions = List.copyOf(versions);
        chain = List.copyOf(chain);
        findings = List.copyOf(findings);
    }

    /** Whether the relay, with this policy, would get a verified TLS session to this server. */
    public boolean relayWouldSucceed() {
        return failedAt.isEmpty() && negotiation.ok();
    }

    /** The process exit code of {@code tlsrelay probe}: 0 if the relay would succeed, 1 if not. */
    public int exitCode() {
        return relayWouldSucceed() ? 0 : 1;
    }
}
