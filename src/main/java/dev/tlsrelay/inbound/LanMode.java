package dev.tlsrelay.inbound;

import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.auth.UserDirectory;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.tls.InboundTlsServer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory;
import org.subethamail.smtp.internal.server.CommandHandler;
import org.subethamail.smtp.server.SMTPServer;

/**
 * LAN mode: what the listener adds for devices on a network rather than on this machine, STARTTLS
 * (down to TLS 1.0 when configured, on this side only) and SMTP AUTH PLAIN/LOGIN against the
 * users file. Off unless {@code listen.tls.*} or {@code listen.auth.*} are set; off, it changes
 * nothing in the listener.
 *
 * <p>The policy in one place:
 * <ul>
 *   <li>STARTTLS is offered when a certificate is configured, never required by itself: plaintext
 *       devices that need no AUTH keep working (the allow-list still decides who may connect).</li>
 *   <li>AUTH is offered and accepted only inside TLS, unless {@code listen.auth.allow-plaintext};
 *       before TLS it is not advertised and gets {@code 538 5.7.11}.</li>
 *   <li>With {@code listen.auth.required}, MAIL (and RCPT, DATA, BDAT, VRFY, EXPN) without AUTH
 *       gets {@code 530 5.7.0}: SubEthaSMTP's {@code requireAuth}. Its {@code fromAddressValidator},
 *       which would bypass that check, is not used anywhere.</li>
 *   <li>Three AUTH commands that do not authenticate end the session.</li>
 * </ul>
 *
 * <p>SubEthaSMTP's EHLO and STARTTLS are replaced ({@link EhloCommand}, {@link StartTlsCommand})
 * and its AUTH wrapped ({@link AuthGate}) through its public command registry, because its own
 * versions decide from server-wide flags what must be decided per session, cannot audit, and go on
 * in plaintext after a failed handshake. Install lan mode first, before anything else wraps the
 * commands.
 */
public final class LanMode {

    private static final Logger log = LoggerFactory.getLogger(LanMode.class);

    private final Optional<InboundTlsServer> tls;
    private final Optional<UserDirectory> users;
    private final boolean authRequired;
    private final boolean allowPlaintextAuth;
    private final Duration handshakeTimeout;
    private final AuditLog audit;

    private LanMode(Optional<InboundTlsServer> tls, Optional<UserDirectory> users, boolean authRequired,
            boolean allowPlaintextAuth, Duration handshakeTimeout, AuditLog audit) {
        this.tls = tls;
        this.users = users;
        this.authRequired = authRequired;
        this.allowPlaintextAuth = allowPlaintextAuth;
        this.handshakeTimeout = handshakeTimeout;
        this.audit = audit;
    }

    /** Plain SMTP only, as without any {@code listen.tls.*} / {@code listen.auth.*} setting. */
    public static LanMode off() {
        return new LanMode(Optional.empty(), Optional.empty(), false, false, Duration.ofSeconds(60), null);
    }

    /**
     * LAN mode as configured. Inbound handshakes are audited to {@code audit}; each TLS handshake
     * read waits at most {@code listen.timeout}.
     *
     * @throws IOException if the users file cannot be read
     */
    public static LanMode from(RelayConfig config, AuditLog audit) throws IOException {
        Optional<InboundTlsServer> tls = config.inboundTls()
                .map(t -> new InboundTlsServer(t.identity(), t.minVersion()));
        Optional<UserDirectory> users = Optional.empty();
        if (config.inboundAuth().isPresent()) {
            users = Optional.of(new UserDirectory(config.inboundAuth().get().usersFile()));
        }
        LanMode lan = new LanMode(tls, users,
                config.inboundAuth().map(RelayConfig.InboundAuth::required).orElse(false),
                config.inboundAuth().map(RelayConfig.InboundAuth::allowPlaintext).orElse(false),
                config.listen().timeout(), audit);
        if (lan.on()) {
            log.info("LAN mode: {}", lan.describe());
        }
        return lan;
    }

    boolean on() {
        return tls.isPresent() || users.isPresent();
    }

    /** In plain words, for the start banner: what devices are offered. */
    public String describe() {
        List<String> parts = new ArrayList<>();
        tls.ifPresent(t -> parts.add("STARTTLS offered (" + String.join(", ", t.protocols()) + ")"));
        users.ifPresent(u -> parts.add("AUTH PLAIN LOGIN " + (authRequired ? "required" : "optional") + ", "
                + (allowPlaintextAuth ? "also before STARTTLS" : "only after STARTTLS") + ", "
                + u.users().userNames().size() + " user(s) in " + u.file()));
        return parts.isEmpty() ? "off" : String.join("; ", parts);
    }

    /**
     * Applies LAN mode to a listener's builder, builds it, and installs the LAN-mode commands. The
     * only way {@link RelayServer} builds its server.
     */
    SMTPServer build(SMTPServer.Builder builder) {
        users.ifPresent(u -> builder.authenticationHandlerFactory(new EasyAuthenticationHandlerFactory(new Logins(u)))
                .requireAuth(authRequired));
        SMTPServer server = builder.build();
        if (!on()) {
            return server;
        }
        CommandHandler commands = server.getCommandHandler();
        commands.addCommand(new EhloCommand(tls.isPresent(), allowPlaintextAuth));
        tls.ifPresent(t -> commands.addCommand(new StartTlsCommand(t, handshakeTimeout, audit)));
        if (users.isPresent()) {
            commands.addCommand(new AuthGate(commands.getCommand("AUTH"), allowPlaintextAuth));
        }
        return server;
    }
}
