package dev.tlsrelay.inbound;

import dev.tlsrelay.config.Cidr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.Session;
import org.subethamail.smtp.server.SessionHandler;

/**
 * Decides, before the greeting, whether a client may talk to the relay at all: only addresses inside
 * {@code listen.allowed-networks}. Everyone else gets {@code 554 5.7.1} and is logged. While the
 * relay drains for shutdown, new clients get {@code 421}.
 */
final class AccessPolicy implements SessionHandler {

    private static final Logger log = LoggerFactory.getLogger(AccessPolicy.class);

    private final List<Cidr> allowed;
    private final AtomicBoolean draining = new AtomicBoolean();

    AccessPolicy(List<Cidr> allowed) {
        this.allowed = List.copyOf(allowed);
    }

    boolean allows(InetAddress address) {
        return allowed.stream().anyMatch(c -> c.contains(address));
    }

    void startDraining() {
        draining.set(true);
    }

    @Override
    public SessionAcceptance accept(Session session) {
        InetSocketAddress remote = session.getRealRemoteAddress();
        InetAddress address = remote.getAddress();
        if (!allows(address)) {
            log.warn("refused connection from {}: not in listen.allowed-networks {}", address.getHostAddress(),
                    allowed);
            return SessionAcceptance.failure(554, "5.7.1 Access denied: " + address.getHostAddress()
                    + " is not allowed to relay through this server");
        }
        if (draining.get()) {
            return SessionAcceptance.failure(421, "4.3.2 Relay shutting down, try again later");
        }
        return SessionAcceptance.success();
    }

    @Override
    public void onSessionEnd(Session session) {}
}
