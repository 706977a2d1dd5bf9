package dev.tlsrelay.inbound;

import java.io.IOException;
import java.util.Map;
import java.util.WeakHashMap;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.internal.server.CommandException;
import org.subethamail.smtp.internal.server.HelpMessage;
import org.subethamail.smtp.server.Session;

/**
 * Wraps SubEthaSMTP's AUTH command: refuses it before TLS unless plaintext AUTH is allowed (it is
 * not advertised there either, see {@link EhloCommand}), and ends a session after
 * {@value #MAX_FAILURES} AUTH commands that did not authenticate, so one connection cannot try
 * passwords forever.
 */
final class AuthGate implements Command {

    /** Failed AUTH commands (wrong password, bad syntax, cancelled) a session may make. */
    static final int MAX_FAILURES = 3;

    private final Command auth;
    private final boolean allowPlaintext;
    /** Per live session; entries go with their session. */
    private final Map<Session, Integer> failures = new WeakHashMap<>();

    AuthGate(Command auth, boolean allowPlaintext) {
        this.auth = auth;
        this.allowPlaintext = allowPlaintext;
    }

    @Override
    public void execute(String commandString, Session sess) throws IOException, DropConnectionException {
        if (!sess.isTLSStarted() && !allowPlaintext) {
            // RFC 4954 6: the client must start TLS first; its password has not been sent yet (or,
            // with an initial response, is refused unread).
            sess.sendResponse("538 5.7.11 Encryption required for requested authentication mechanism:"
                    + " issue STARTTLS first");
            return;
        }
        if (sess.isAuthenticated()) {
            auth.execute(commandString, sess); // "503 Refusing any other AUTH command."
            return;
        }
        auth.execute(commandString, sess);
        if (!sess.isAuthenticated()) {
            int n;
            synchronized (failures) {
                n = failures.merge(sess, 1, Integer::sum);
            }
            if (n >= MAX_FAILURES) {
                throw new DropConnectionException(421, "4.7.0 Too many failed AUTH attempts, closing connection");
            }
        }
    }

    @Override
    public HelpMessage getHelp() throws CommandException {
        return auth.getHelp();
    }

    @Override
    public String getName() {
        return auth.getName();
    }
}
