package dev.tlsrelay.inbound;

import dev.tlsrelay.upstream.SmtpReply;
import java.io.IOException;

/**
 * The message body broke a rule while it streamed in (bare line ending, size, line length). Thrown
 * from the body stream so whatever consumes it stops and abandons its copy; the client then gets
 * {@link #reply()}.
 */
final class DataRejectedException extends IOException {

    private final SmtpReply reply;

    DataRejectedException(SmtpReply reply) {
        super(reply.line());
        this.reply = reply;
    }

    SmtpReply reply() {
        return reply;
    }
}
