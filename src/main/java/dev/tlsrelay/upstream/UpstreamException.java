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

    public UpstreamException(SmtpReply clientReply, Optional<FailureCode> tlsFailure, Throwable cause) {
        super(clientReply.line(), cause);
        this.clientReply = clientReply;
        this.tlsFailure = tlsFailure;
    }

    /** What to answer the client: always a 4xx or 5xx with plain words. */
    public SmtpReply clientReply() {
        return clientReply;
    }

    public Optional<FailureCode> tlsFailure() {
        return tlsFailure;
    }
}
