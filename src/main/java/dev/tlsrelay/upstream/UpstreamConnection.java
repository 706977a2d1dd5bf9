package dev.tlsrelay.upstream;

import dev.tlsrelay.tls.TlsClient;
import dev.tlsrelay.tls.TlsNegotiation;
import jakarta.mail.MessagingException;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Optional;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;

/**
 * One open, verified and authenticated upstream SMTP connection. The caller drives the transaction:
 * {@link #mailFrom}, {@link #rcpt} per recipient, then {@link #beginData}/{@link #endData}. Not
 * thread-safe; one client transaction at a time.
 */
public final class UpstreamConnection implements AutoCloseable {

    private final SmtpChannel channel;
    private final TlsClient.ConnectionTls tls;
    private final TlsNegotiation negotiation;
    private final ConnectionPool pool;
    private final String negotiatedBy;
    private final Optional<String> authMechanism;
    private boolean broken;
    private boolean reused;
    private int messages;
    /** The client session that last took this connection (the one that opened it, until reused). */
    private String lastSession;
    private long idleSince = System.nanoTime();

    UpstreamConnection(SmtpChannel channel, TlsClient.ConnectionTls tls, TlsNegotiation negotiation,
            String negotiatedBy, Optional<String> authMechanism, ConnectionPool pool) {
        this.channel = channel;
        this.authMechanism = authMechanism;
        this.negotiatedBy = negotiatedBy;
        this.lastSession = negotiatedBy;
        this.tls = tls;
        this.negotiation = negotiation;
        this.pool = pool;
    }

    /** How this connection's TLS was negotiated (when it was opened, for a reused one). */
    public TlsNegotiation negotiation() {
        return negotiation;
    }

    /** The session whose {@code tls.handshake} audit line records this connection's negotiation. */
    public String negotiatedBy() {
        return negotiatedBy;
    }

    /**
     * The SASL mechanism this connection authenticated with when it was opened ({@code plain},
     * {@code login}, {@code xoauth2}); empty without AUTH. A pooled connection stays authenticated,
     * also after the token it was opened with has expired.
     */
    public Optional<String> authMechanism() {
        return authMechanism;
    }

    /** Whether this connection already carried an earlier message (no new TLS negotiation). */
    public boolean reused() {
        return reused;
    }

    // ---- pool bookkeeping --------------------------------------------------------------------

    /** Marks the connection as taken from the pool for another message of this client session. */
    UpstreamConnection reuse(String sessionId) {
        reused = true;
        lastSession = sessionId;
        return this;
    }

    /** The client session that last used this connection. */
    String lastSession() {
        return lastSession;
    }

    java.time.Duration idleFor() {
        return java.time.Duration.ofNanos(System.nanoTime() - idleSince);
    }

    boolean reusable(int maxMessages) {
        return !broken && messages < maxMessages;
    }

    /** RSET before the next message; false when the server did not answer 250. */
    boolean resetForReuse() {
        try {
            boolean ok = channel.simpleCommand("RSET") == 250;
            idleSince = System.nanoTime();
            return ok;
        } catch (MessagingException e) {
            return false;
        }
    }

    /** NOOP: is the server still there. */
    boolean probe() {
        return channel.isConnected();
    }

    /** QUIT and close, for good. */
    void quit() {
        UpstreamClient.closeQuietly(channel);
    }

    /**
     * Sends MAIL FROM. Adds {@code BODY=8BITMIME} and {@code SIZE} when the server supports them,
     * and {@code SMTPUTF8} when an address needs it.
     *
     * @param declaredSize the size the client declared, 0 if none
     * @param needsUtf8    the envelope has non-ASCII addresses
     */
    public SmtpReply mailFrom(String sender, long declaredSize, boolean needsUtf8) throws UpstreamException {
        StringBuilder cmd = new StringBuilder("MAIL FROM:<").append(sender).append('>');
        if (channel.supportsExtension("8BITMIME")) {
            cmd.append(" BODY=8BITMIME");
        }
        if (declaredSize > 0 && channel.supportsExtension("SIZE")) {
            cmd.append(" SIZE=").append(declaredSize);
        }
        if (needsUtf8) {
            if (!channel.supportsExtension("SMTPUTF8")) {
                return new SmtpReply(553, "5.6.7 The upstream server does not support SMTPUTF8;"
                        + " use ASCII addresses");
            }
            cmd.append(" SMTPUTF8");
        }
        return command(cmd.toString());
    }

    /** Sends RCPT TO and returns the server's verdict on this recipient. */
    public SmtpReply rcpt(String recipient) throws UpstreamException {
        return command("RCPT TO:<" + recipient + ">");
    }

    /** Whether the server accepts SMTPUTF8 addresses. */
    public boolean supportsUtf8() {
        return channel.supportsExtension("SMTPUTF8");
    }

    /**
     * Sends DATA. Returns the body stream (dot-stuffing and CRLF canonicalisation are applied on the
     * way out), or throws with the server's refusal.
     */
    public OutputStream beginData() throws UpstreamException {
        try {
            return channel.beginData();
        } catch (SMTPSendFailedException e) {
            throw new UpstreamException(closing(SmtpReply.parse(e.getReturnCode(), e.getMessage())), Optional.empty(),
                    e);
        } catch (MessagingException e) {
            broken = true;
            throw UpstreamClient.lostConnection(e);
        }
    }

    /** Ends the body and returns the server's final reply (its queue id, typically). */
    public SmtpReply endData() throws UpstreamException {
        try {
            channel.endData();
            messages++;
            return SmtpReply.parse(channel.getLastReturnCode(), channel.getLastServerResponse());
        } catch (SMTPSendFailedException e) {
            return closing(SmtpReply.parse(e.getReturnCode(), e.getMessage()));
        } catch (MessagingException | IOException e) {
            broken = true;
            throw UpstreamClient.lostConnection(e);
        }
    }

    /** RSET, to abandon a transaction while keeping the connection. */
    public void reset() throws UpstreamException {
        command("RSET");
    }

    /**
     * Drops the connection without QUIT. The only way to abandon a DATA in progress: the server
     * discards a body that never got its terminating dot.
     */
    public void abort() {
        broken = true;
        // Close the socket under Angus first: its close() would try to finish the protocol.
        tls.closeSocket();
        UpstreamClient.closeQuietly(channel);
    }

    private SmtpReply command(String cmd) throws UpstreamException {
        if (cmd.indexOf('\r') >= 0 || cmd.indexOf('\n') >= 0) {
            // Addresses are validated at the edge; this is the last line against command injection.
            return new SmtpReply(501, "5.5.2 Line breaks are not allowed in addresses");
        }
        try {
            int code = channel.simpleCommand(cmd);
            return closing(SmtpReply.parse(code, channel.getLastServerResponse()));
        } catch (MessagingException e) {
            broken = true;
            throw UpstreamClient.lostConnection(e);
        } catch (IllegalArgumentException e) {
            broken = true;
            throw UpstreamClient.lostConnection(e);
        }
    }

    /** 421: the server is closing this connection; it must not be used again. */
    private SmtpReply closing(SmtpReply reply) {
        if (reply.code() == 421) {
            broken = true;
        }
        return reply;
    }

    /** Done with this connection: back to the pool if it is sound, else QUIT and close. */
    @Override
    public void close() {
        pool.release(this);
    }

    /** Whether an I/O failure or an abort made this connection unusable. */
    public boolean broken() {
        return broken;
    }
}
