package dev.tlsrelay.upstream;

import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.URLName;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import org.eclipse.angus.mail.smtp.SMTPTransport;

/**
 * Angus' SMTP client with its DATA stream opened up, so the relay can drive MAIL, RCPT and DATA
 * itself and stream the received bytes unchanged. Angus still does dot-stuffing and CRLF
 * canonicalisation on the way out. Public only because Jakarta Mail instantiates it reflectively.
 */
public class SmtpChannel extends SMTPTransport {

    private volatile boolean startTlsIssued;

    public SmtpChannel(Session session, URLName urlname) {
        this(session, urlname, "smtp", false);
    }

    protected SmtpChannel(Session session, URLName urlname, String name, boolean ssl) {
        super(session, urlname, name, ssl);
    }

    /**
     * Notes that STARTTLS is being sent, then sends it. Angus reports a refusal (454 "TLS not
     * available") as a bare MessagingException with the reply text, indistinguishable from other
     * pre-TLS failures without this mark.
     */
    @Override
    protected void startTLS() throws MessagingException {
        startTlsIssued = true;
        super.startTLS();
    }

    /** Whether STARTTLS was sent on this connection (the server advertised it). */
    boolean startTlsIssued() {
        return startTlsIssued;
    }

    /**
     * Whether the server's EHLO offered at least one of these SASL mechanisms, by Angus' own rule
     * (the same check that picks the mechanism when connecting). Still answers after a failed connect.
     */
    synchronized boolean supportsAnyAuthentication(List<String> mechanisms) {
        return mechanisms.stream().anyMatch(this::supportsAuthentication);
    }

    /**
     * The first of these mechanisms the server's EHLO offers: the one Angus authenticates with, since
     * it tries {@code auth.mechanisms} in order and uses the first the server supports.
     */
    synchronized java.util.Optional<String> firstSupported(List<String> mechanisms) {
        return mechanisms.stream().filter(this::supportsAuthentication).findFirst();
    }

    /** Sends DATA; returns the dot-stuffing body stream once the server said 354. */
    synchronized OutputStream beginData() throws MessagingException {
        return data();
    }

    /** Ends the body with CRLF.CRLF and reads the final reply; throws unless it is 250. */
    synchronized void endData() throws IOException, MessagingException {
        finishData();
    }

    /** Implicit TLS: the same client, named {@code smtps} so Angus reads {@code mail.smtps.*}. */
    public static final class Implicit extends SmtpChannel {
        public Implicit(Session session, URLName urlname) {
            super(session, urlname, "smtps", true);
        }
    }
}
