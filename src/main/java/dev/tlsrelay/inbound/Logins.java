package dev.tlsrelay.inbound;

import dev.tlsrelay.auth.UserDirectory;
import java.net.InetSocketAddress;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.auth.LoginFailedException;
import org.subethamail.smtp.auth.UsernamePasswordValidator;

/**
 * Checks AUTH PLAIN and LOGIN credentials against the users file. Every outcome is logged with the
 * user name (cleaned: it comes from the network) and the client address; the password never is.
 */
final class Logins implements UsernamePasswordValidator {

    private static final Logger log = LoggerFactory.getLogger(Logins.class);

    private final UserDirectory users;

    Logins(UserDirectory users) {
        this.users = users;
    }

    @Override
    public void login(String username, String password, MessageContext context) throws LoginFailedException {
        char[] secret = password.toCharArray();
        boolean ok;
        try {
            ok = users.verify(username, secret);
        } finally {
            // The String the library decoded cannot be cleared; our copy can.
            Arrays.fill(secret, '\0');
        }
        String client = client(context);
        if (!ok) {
            log.warn("AUTH failed for user '{}' from {} (session {})", printable(username), client,
                    context.getSessionId());
            throw new LoginFailedException("bad user name or password");
        }
        log.info("AUTH as '{}' from {} (session {})", printable(username), client, context.getSessionId());
    }

    private static String client(MessageContext context) {
        return context.getRemoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
                ? a.getAddress().getHostAddress() : String.valueOf(context.getRemoteAddress());
    }

    /** A user name fit for one log line: printable ASCII only, at most 64 characters. */
    static String printable(String name) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < name.length() && sb.length() < 64; i++) {
            char c = name.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f && c != '\'' ? c : '?');
        }
        return name.length() > 64 ? sb + "..." : sb.toString();
    }
}
