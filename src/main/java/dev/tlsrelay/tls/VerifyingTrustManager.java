package dev.tlsrelay.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509TrustManager;

/**
 * Decides whether the server of one connection is the right one, and remembers exactly why not.
 * Chain validation is the JDK's PKIX; host name and pins are checked by {@link ServerIdentity}, so
 * the failure reason is known precisely instead of guessed from exception text. One instance per
 * connection.
 */
final class VerifyingTrustManager extends ServerOnlyTrustManager {

    private final TlsPolicy policy;
    private final String host;
    private final X509TrustManager pkix;

    private volatile FailureCode failure;
    private volatile String failureDetail;
    private volatile X509Certificate leaf;
    private volatile ServerIdentity identity;

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

    /** Every check on the chain the server presented, if the handshake got that far. */
    Optional<ServerIdentity> identity() {
        return Optional.ofNullable(identity);
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
        ServerIdentity checked = ServerIdentity.check(host, chain, authType, policy, pkix);
        identity = checked;
        Optional<ServerIdentity.Check> refused = checked.decidingFailure();
        if (refused.isPresent()) {
            throw fail(refused.get().failure().orElseThrow(), refused.get().detail());
        }
    }

    private CertificateException fail(FailureCode code, String detail) {
        failure = code;
        failureDetail = detail;
        return new CertificateException(code.plainWords() + ": " + detail);
    }


    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
    }
}
