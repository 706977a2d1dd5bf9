package dev.tlsrelay.inbound;

import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.tls.InboundTlsServer;
import dev.tlsrelay.tls.TlsNegotiation;
import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.internal.server.BaseCommand;
import org.subethamail.smtp.server.Session;

/**
 * STARTTLS on the inbound listener, replacing SubEthaSMTP's command so that
 * <ul>
 *   <li>every attempt, successful or not, is audited as one {@code tls.handshake} with
 *       {@code direction: inbound} and the session id;</li>
 *   <li>a failed handshake ends the connection (SubEthaSMTP's would go on reading the client's
 *       TLS bytes as plaintext commands);</li>
 *   <li>TLS 1.0/1.1 can be served, through {@link InboundTlsServer}'s adapter socket.</li>
 * </ul>
 * Plaintext the client pipelined after STARTTLS sits in the session's old input buffer, which is
 * dropped when the session moves to the TLS socket: it is never executed inside TLS (the
 * CVE-2011-0411 class). It is logged, because no honest client does that.
 */
final class StartTlsCommand extends BaseCommand {

    private static final Logger log = LoggerFactory.getLogger(StartTlsCommand.class);

    private final InboundTlsServer tls;
    private final Duration handshakeTimeout;
    private final AuditLog audit;

    StartTlsCommand(InboundTlsServer tls, Duration handshakeTimeout, AuditLog audit) {
        super("STARTTLS", "Start TLS on this connection.");
        this.tls = tls;
        this.handshakeTimeout = handshakeTimeout;
        this.audit = audit;
    }

    @Override
    public void execute(String commandString, Session sess) throws IOException {
        if (!commandString.trim().toUpperCase(Locale.ROOT).equals("STARTTLS")) {
            sess.sendResponse("501 5.5.4 Syntax: STARTTLS takes no parameters");
            return;
        }
        if (sess.isTLSStarted()) {
            sess.sendResponse("503 5.5.1 TLS is already active");
            return;
        }
        if (sess.isAuthenticated()) {
            // RFC 3207: what was learnt before TLS must be forgotten, and SubEthaSMTP cannot forget an AUTH.
            sess.sendResponse("503 5.5.1 STARTTLS is not allowed after AUTH; reconnect and start TLS first");
            return;
        }
        int pipelined = sess.getRawInput().available();
        sess.sendResponse("220 2.0.0 Ready to start TLS");
        InboundTlsServer.Handshake h = tls.handshake(sess.getSocket(), handshakeTimeout);
        TlsNegotiation n = h.negotiation();
        audit.write(new AuditEvent.Handshake(sess.getSessionId(), n));
        if (pipelined > 0) {
            log.warn("client {} sent {} byte(s) after STARTTLS without waiting for the reply: discarded, never read"
                    + " as commands (STARTTLS command injection)", n.peerHost(), pipelined);
        }
        if (h.socket().isEmpty()) {
            log.warn("inbound STARTTLS from {}:{} failed ({}): {}; connection closed", n.peerHost(), n.peerPort(),
                    n.failure().map(f -> f.auditName()).orElse("?"), n.detail().orElse(""));
            sess.quit();
            return;
        }
        sess.setSocket(h.socket().get());
        sess.resetSmtpProtocol();
        sess.setTlsStarted(true);
        log.debug("inbound TLS from {}: {} {}", n.peerHost(), n.protocol().orElse(""), n.cipher().orElse(""));
    }
}
