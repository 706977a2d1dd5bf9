package dev.tlsrelay.delivery;

import dev.tlsrelay.upstream.SmtpReply;
import java.io.IOException;

/**
 * The message body broke a rule while it streamed in (bare line ending, size, line length). Thrown
 * from the body stream, so whoever consumes it stops and abandons its copy; the client then gets
 * {@link #reply()}.
 */
public final class BodyRejectedException extends IOException {

    private final SmtpReply reply;

    public BodyRejectedException(SmtpReply reply) {
        super(reply.line());
        this.reply = reply;
    }

    public SmtpReply reply() {
        return reply;
    }
}
