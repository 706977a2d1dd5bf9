package dev.tlsrelay.tls;

import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.X509TrustManager;

/**
 * What a server's certificate chain proves about it, check by check: does the chain lead to a
 * trusted CA, does the certificate name the host, does a certificate carry a pinned key. All three
 * are always worked out (so {@code tlsrelay probe} can show each); {@link #decidingFailure()} is the
 * one the relay acts on under the policy's {@link VerifyMode}. This is the only place that decision
 * is made: the relay's trust manager and the probe both read it from here.
 *
 * @param host         the name the client connected to, which the certificate must carry
 * @param certificates the chain as the server sent it, leaf first
 */
public record ServerIdentity(
        String host,
        List<X509Certificate> certificates,
        VerifyMode mode,
        Check chainTrust,
        Check hostName,
        Check pin) {

    /** How one check came out. */
    public enum Status {
        PASSED,
        FAILED,
        /** Nothing to check (no pins configured). */
        NOT_APPLICABLE
    }

    /**
     * The result of one check.
     *
     * @param failure the stable code, present exactly when {@code status} is FAILED
     * @param detail  what was seen, in words (names on the certificate, pins seen, the PKIX reason)
     */
    public record Check(Status status, Optional<FailureCode> failure, String detail) {

        public Check {
            if ((status == Status.FAILED) != failure.isPresent()) {
                throw new IllegalArgumentException("a failure code goes with a failed check, and only with it");
            }
        }

        static Check passed(String detail) {
            return new Check(Status.PASSED, Optional.empty(), detail);
        }

        static Check failed(FailureCode code, String detail) {
            return new Check(Status.FAILED, Optional.of(code), detail);
        }

        public boolean passed() {
            return status == Status.PASSED;
        }

        public boolean failed() {
            return status == Status.FAILED;
        }
    }

    public ServerIdentity {
        certificates = List.copyOf(certificates);
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException("a server identity needs at least the leaf certificate");
        }
    }

    /** The server's own certificate. */
    public X509Certificate leaf() {
        return certificates.get(0);
    }

    /**
     * The failed check that makes the relay refuse this server under {@link #mode()}, if any:
     * FULL needs chain, host name and (when configured) pin, in that order; PIN needs the pin only.
     */
    public Optional<Check> decidingFailure() {
        List<Check> required = mode == VerifyMode.FULL ? List.of(chainTrust, hostName, pin) : List.of(pin);
        return required.stream().filter(Check::failed).findFirst();
    }

    /** Whether the relay accepts this server under its policy. */
    public boolean acceptedByRelay() {
        return decidingFailure().isEmpty();
    }

    /**
     * Runs every check on a chain a server presented.
     *
     * @param authType the key exchange's authentication type as JSSE names it (e.g. {@code ECDHE_RSA},
     *                 {@code UNKNOWN} for TLS 1.3): PKIX checks the leaf's key usage against it
     */
    static ServerIdentity check(String host, X509Certificate[] chain, String authType, TlsPolicy policy,
            X509TrustManager pkix) {
        Check chainTrust;
        try {
            pkix.checkServerTrusted(chain, authType);
            chainTrust = Check.passed("the chain leads to a CA in " + policy.trust().describe());
        } catch (CertificateException | RuntimeException e) {
            chainTrust = Check.failed(classifyChainFailure(chain, e), "chain validation against "
                    + policy.trust().describe() + " failed: " + e.getMessage());
        }
        List<String> names = CertificateFacts.subjectAltNames(chain[0]);
        Check hostName = HostnameMatcher.matches(host, chain[0])
                ? Check.passed("the certificate names " + host)
                : Check.failed(FailureCode.HOSTNAME_MISMATCH, "connected to " + host
                        + " but the certificate names " + names + "; set upstream.host to one of those names");
        Check pin;
        if (policy.pins().isEmpty()) {
            pin = new Check(Status.NOT_APPLICABLE, Optional.empty(), "no pins configured");
        } else {
            List<SpkiPin> seen = new ArrayList<>();
            Optional<SpkiPin> matched = Optional.empty();
            for (X509Certificate c : chain) {
                SpkiPin p = SpkiPin.of(c.getPublicKey());
                seen.add(p);
                if (matched.isEmpty() && policy.pins().contains(p)) {
                    matched = Optional.of(p);
                }
            }
            pin = matched.isPresent()
                    ? Check.passed("the chain carries the pinned key " + matched.get())
                    : Check.failed(FailureCode.PIN_MISMATCH, "pins seen in the chain " + seen
                            + ", expected one of " + policy.pins());
        }
        return new ServerIdentity(host, List.of(chain), policy.verify(), chainTrust, hostName, pin);
    }

    /** Expired or not-yet-valid certificates are reported as such; anything else is untrusted. */
    private static FailureCode classifyChainFailure(X509Certificate[] chain, Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateExpiredException) {
                return FailureCode.CERT_EXPIRED;
            }
            if (t instanceof CertificateNotYetValidException) {
                return FailureCode.CERT_NOT_YET_VALID;
            }
            if (t instanceof CertPathValidatorException cpve) {
                if (cpve.getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
                    return FailureCode.CERT_EXPIRED;
                }
                if (cpve.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                    return FailureCode.CERT_NOT_YET_VALID;
                }
            }
        }
        // The path builder may give up before it checks dates; the dates themselves decide then.
        for (X509Certificate c : chain) {
            try {
                c.checkValidity();
            } catch (CertificateExpiredException x) {
                return FailureCode.CERT_EXPIRED;
            } catch (CertificateNotYetValidException x) {
                return FailureCode.CERT_NOT_YET_VALID;
            }
        }
        return FailureCode.CERT_UNTRUSTED;
    }
}
