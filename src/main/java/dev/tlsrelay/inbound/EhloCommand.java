package dev.tlsrelay.inbound;

import java.io.IOException;
import java.util.List;
import org.subethamail.smtp.AuthenticationHandlerFactory;
import org.subethamail.smtp.internal.server.BaseCommand;
import org.subethamail.smtp.server.Session;

/**
 * EHLO in LAN mode. The same reply as SubEthaSMTP's, except that what it lists depends on this
 * session's state, not on server-wide flags:
 * <ul>
 *   <li>STARTTLS only while the session is still in plaintext (RFC 3207 4.2: never after TLS);</li>
 *   <li>AUTH only once TLS is up, unless plaintext AUTH is allowed (SubEthaSMTP can hide it
 *       before TLS only by requiring TLS for every command, which would lock out plaintext devices
 *       that need no AUTH);</li>
 *   <li>PIPELINING inside TLS too: {@link PipeliningServerSocket} inserts it into plaintext replies
 *       only, as it cannot see into the encrypted stream.</li>
 * </ul>
 * The line layout before TLS is SubEthaSMTP's, so {@link PipeliningServerSocket} still finds where
 * to insert PIPELINING.
 */
final class EhloCommand extends BaseCommand {

    private final boolean startTls;
    private final boolean authBeforeTls;

    EhloCommand(boolean startTls, boolean authBeforeTls) {
        super("EHLO", "Introduce yourself.", "<hostname>");
        this.startTls = startTls;
        this.authBeforeTls = authBeforeTls;
    }

    @Override
    public void execute(String commandString, Session sess) throws IOException {
        String[] args = getArgs(commandString);
        if (args.length < 2) {
            sess.sendResponse("501 5.5.4 Syntax: EHLO hostname");
            return;
        }
        sess.resetMailTransaction();
        sess.setHelo(args[1]);
        boolean tls = sess.isTLSStarted();
        StringBuilder reply = new StringBuilder("250-").append(sess.getServer().getHostName());
        if (tls) {
            reply.append("\r\n250-PIPELINING");
        }
        reply.append("\r\n250-8BITMIME");
        int maxSize = sess.getServer().getMaxMessageSize();
        if (maxSize > 0) {
            reply.append("\r\n250-SIZE ").append(maxSize);
        }
        if (startTls && !tls) {
            reply.append("\r\n250-STARTTLS");
        }
        reply.append("\r\n250-CHUNKING");
        reply.append("\r\n250-SMTPUTF8");
        if (tls || authBeforeTls) {
            List<String> mechanisms = sess.getServer().getAuthenticationHandlerFactory()
                    .map(AuthenticationHandlerFactory::getAuthenticationMechanisms).orElse(List.of());
            if (!mechanisms.isEmpty()) {
                reply.append("\r\n250-AUTH ").append(String.join(" ", mechanisms));
            }
        }
        reply.append("\r\n250 Ok");
        sess.sendResponse(reply.toString());
    }
}
