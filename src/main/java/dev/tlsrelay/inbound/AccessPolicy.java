package dev.tlsrelay.inbound;

import dev.tlsrelay.config.Cidr;
import dev.tlsrelay.config.RelayConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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

    private volatile List<Cidr> allowed;
    private volatile RelayConfig.Abuse limits;
    private final AtomicBoolean draining = new AtomicBoolean();
    private final Map<InetAddress, AtomicInteger> active = new ConcurrentHashMap<>();
    private final Map<InetAddress, Deque<Long>> recent = new ConcurrentHashMap<>();

    AccessPolicy(List<Cidr> allowed, RelayConfig.Abuse limits) {
        this.allowed = List.copyOf(allowed);
        this.limits = limits;
    }

    boolean allows(InetAddress address) {
        return allowed.stream().anyMatch(c -> c.contains(address));
    }

    /** New allow-list and limits, for connections from now on (reload). */
    void update(List<Cidr> newAllowed, RelayConfig.Abuse newLimits) {
        this.allowed = List.copyOf(newAllowed);
        this.limits = newLimits;
    }

    /** Client sessions open now. */
    int activeSessions() {
        return active.values().stream().mapToInt(AtomicInteger::get).sum();
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
        if (!withinRate(address)) {
            log.warn("refused connection from {}: more than {} per minute (listen.rate-per-ip)",
                    address.getHostAddress(), limits.ratePerIp());
            return SessionAcceptance.failure(421, "4.7.0 Too many connections from " + address.getHostAddress()
                    + " in the last minute, try again later");
        }
        AtomicInteger count = active.computeIfAbsent(address, a -> new AtomicInteger());
        if (count.incrementAndGet() > limits.maxConnectionsPerIp()) {
            count.decrementAndGet();
            log.warn("refused connection from {}: {} already open (listen.max-connections-per-ip)",
                    address.getHostAddress(), limits.maxConnectionsPerIp());
            return SessionAcceptance.failure(421, "4.7.0 Too many connections from " + address.getHostAddress()
                    + ", try again later");
        }
        return SessionAcceptance.success();
    }

    /** A sliding one-minute window of connection times per address, bounded by the rate itself. */
    private boolean withinRate(InetAddress address) {
        long now = System.nanoTime();
        long windowStart = now - TimeUnit.MINUTES.toNanos(1);
        Deque<Long> times = recent.computeIfAbsent(address, a -> new ArrayDeque<>());
        synchronized (times) {
            while (!times.isEmpty() && times.peekFirst() < windowStart) {
                times.pollFirst();
            }
            if (times.size() >= limits.ratePerIp()) {
                return false;
            }
            times.addLast(now);
            return true;
        }
    }

    @Override
    public void onSessionEnd(Session session) {
        InetAddress address = session.getRealRemoteAddress().getAddress();
        AtomicInteger count = active.get(address);
        if (count != null && count.decrementAndGet() <= 0) {
            active.remove(address, count);
        }
        // Forget quiet addresses, so a scan of many addresses cannot grow the map for ever.
        recent.entrySet().removeIf(e -> {
            synchronized (e.getValue()) {
                Long last = e.getValue().peekLast();
                return last == null || last < System.nanoTime() - TimeUnit.MINUTES.toNanos(1);
            }
        });
    }
}
