package dev.tlsrelay.delivery;

import dev.tlsrelay.upstream.SmtpReply;
import java.io.IOException;
import java.io.InputStream;

/**
 * One client mail transaction as the delivery side sees it. Each step returns the reply the client
 * gets. {@link #close()} is always called, also when the client vanished mid-way.
 */
public interface Transaction extends AutoCloseable {

    /** MAIL FROM; {@code declaredSize} is the client's SIZE= value or 0. */
    SmtpReply mailFrom(String sender, long declaredSize);

    /** RCPT TO for one recipient. */
    SmtpReply recipient(String recipient);

    /**
     * The message body (dot-unstuffed, as received). Always reads {@code body} to its end, even when
     * refusing, so no unread body line can be taken for an SMTP command.
     *
     * @throws IOException only when reading from the client fails (the client connection is lost)
     */
    SmtpReply data(InputStream body) throws IOException;

    @Override
    void close();
}
