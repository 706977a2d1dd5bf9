package dev.tlsrelay.tls;

import java.net.Socket;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Decides whether the server of one connection is the right one, and remembers exactly why not.
 * Chain validation is the JDK's PKIX; host name and pins are checked here, so the failure reason is
 * known precisely instead of guessed from exception text. One instance per connection.
 */
final class VerifyingTrustManager extends X509ExtendedTrustManager {

    private final TlsPolicy policy;
    private final String host;
    private final X509TrustManager pkix;

    private volatile FailureCode failure;
    private volatile String failureDetail;
    private volatile X509Certificate leaf;

    VerifyingTrustManager(TlsPolicy policy, String host, X509TrustManager pkix) {
        this.policy = policy;
        this.host = host;
        this.pkix = pkix;
    }

    Optional<FailureCode> failure() {
        return Optional.ofNullable(failure);
    }

    Optional<String> failureDetail() {
        return Optional.ofNullable(failureDetail);
    }

    /** The server certificate seen, if the handshake got that far. */
    Optional<X509Certificate> leaf() {
        return Optional.ofNullable(leaf);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        verify(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        verify(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, authType);
    }

    /**
     * Verifies the chain of a resumed session, where the TLS stack does not call the trust manager:
     * the certificate the earlier session verified is checked again under today's policy.
     */
    void verifyResumed(X509Certificate[] chain) throws CertificateException {
        verify(chain, "UNKNOWN");
    }

    private void verify(X509Certificate[] chain, String authType) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw fail(FailureCode.CERT_UNTRUSTED, "the server sent no certificate");
        }
        leaf = chain[0];
        if (policy.verify() == VerifyMode.FULL) {
            try {
                pkix.checkServerTrusted(chain, authType);
            } catch (CertificateException e) {
                throw fail(classifyChainFailure(chain, e), "chain validation against "
                        + policy.trust().describe() + " failed: " + e.getMessage());
            }
            if (!HostnameMatcher.matches(host, chain[0])) {
                throw fail(FailureCode.HOSTNAME_MISMATCH, "connected to " + host
                        + " but the certificate names " + CertificateFacts.subjectAltNames(chain[0])
                        + "; set upstream.host to one of those names");
            }
        }
        if (!policy.pins().isEmpty()) {
            List<SpkiPin> seen = new ArrayList<>();
            for (X509Certificate c : chain) {
                SpkiPin pin = SpkiPin.of(c.getPublicKey());
                if (policy.pins().contains(pin)) {
                    return;
                }
                seen.add(pin);
            }
            throw fail(FailureCode.PIN_MISMATCH, "pins seen in the chain " + seen + ", expected one of "
                    + policy.pins());
        }
    }

    /** Expired or not-yet-valid certificates are reported as such; anything else is untrusted. */
    private static FailureCode classifyChainFailure(X509Certificate[] chain, CertificateException e) {
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

    private CertificateException fail(FailureCode code, String detail) {
        failure = code;
        failureDetail = detail;
        return new CertificateException(code.plainWords() + ": " + detail);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("this trust manager only verifies servers");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException("this trust manager only verifies servers");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("this trust manager only verifies servers");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}
