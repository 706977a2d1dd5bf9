package dev.tlsrelay.upstream;

import dev.tlsrelay.tls.FailureCode;
import java.util.Optional;

/**
 * The upstream transaction cannot go on. Carries the reply the relay should give its client, and,
 * when TLS was the cause, the stable failure code.
 */
public final class UpstreamException extends Exception {

    private final SmtpReply clientReply;
    private final Optional<FailureCode> tlsFailure;
    private final Optional<String> authMechanism;

    public UpstreamException(SmtpReply clientReply, Optional<FailureCode> tlsFailure, Throwable cause) {
        this(clientReply, tlsFailure, cause, Optional.empty());
    }

    /** @param authMechanism the SASL mechanism the failed connection authenticated or tried to with */
    public UpstreamException(SmtpReply clientReply, Optional<FailureCode> tlsFailure, Throwable cause,
            Optional<String> authMechanism) {
        super(clientReply.line(), cause);
        this.clientReply = clientReply;
        this.tlsFailure = tlsFailure;
        this.authMechanism = authMechanism;
    }

    /** What to answer the client: always a 4xx or 5xx with plain words. */
    public SmtpReply clientReply() {
        return clientReply;
    }

    public Optional<FailureCode> tlsFailure() {
        return tlsFailure;
    }

    /** The SASL mechanism ({@code plain}, {@code login}, {@code xoauth2}) sent before the failure, if any. */
    public Optional<String> authMechanism() {
        return authMechanism;
    }
}
