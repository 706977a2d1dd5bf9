package dev.tlsrelay.upstream;

import dev.tlsrelay.config.RelayConfig;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verified, authenticated upstream connections kept open for the next message, as MTAs do: a TLS
 * handshake and AUTH per message would cost more than the message. Bounded in number
 * ({@code upstream.pool.max-connections}, busy and idle together), in idle time and in messages per
 * connection. A connection goes back only after a clean RSET; one idle for a while is probed (NOOP)
 * before reuse; any error or 421 retires it.
 */
final class ConnectionPool implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConnectionPool.class);
    /** Idle for less than this, a connection that just passed RSET is trusted without a NOOP. */
    private static final Duration PROBE_AFTER = Duration.ofSeconds(1);

    private final RelayConfig.Pool config;
    private final Duration acquireTimeout;
    private final Semaphore permits;
    private final Deque<UpstreamConnection> idle = new ArrayDeque<>();
    private final Thread sweeper;
    private volatile boolean closed;

    ConnectionPool(RelayConfig.Pool config, Duration acquireTimeout) {
        this.config = config;
        this.acquireTimeout = acquireTimeout;
        this.permits = new Semaphore(config.maxConnections(), true);
        this.sweeper = Thread.ofVirtual().name("tlsrelay-pool-sweeper").start(this::sweep);
    }

    /** The most recently used healthy idle connection, if any. */
    Optional<UpstreamConnection> takeIdle() {
        while (true) {
            UpstreamConnection c;
            synchronized (idle) {
                c = idle.pollFirst();
            }
            if (c == null) {
                return Optional.empty();
            }
            if (c.idleFor().compareTo(config.idleTimeout()) >= 0
                    || (c.idleFor().compareTo(PROBE_AFTER) >= 0 && !c.probe())) {
                discard(c);
                continue;
            }
            return Optional.of(c);
        }
    }

    /** A permit for a new connection; false when all are busy for longer than the upstream timeout. */
    boolean acquire() throws InterruptedException {
        if (closed) {
            return false;
        }
        if (permits.tryAcquire()) {
            return true;
        }
        // All in use: an idle one is cheaper to give up than to wait for.
        synchronized (idle) {
            UpstreamConnection oldest = idle.pollLast();
            if (oldest != null) {
                discard(oldest);
            }
        }
        return permits.tryAcquire(acquireTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Gives back the permit of a connection that could not be opened. */
    void releasePermit() {
        permits.release();
    }

    /** Takes a connection back after use: kept if sound and reset, closed otherwise. */
    void release(UpstreamConnection c) {
        if (closed || !c.reusable(config.maxMessagesPerConnection()) || !c.resetForReuse()) {
            discard(c);
            return;
        }
        synchronized (idle) {
            idle.addFirst(c);
        }
    }

    private void discard(UpstreamConnection c) {
        c.quit();
        permits.release();
    }

    private void sweep() {
        long period = Math.max(100, Math.min(config.idleTimeout().toMillis() / 2, 5_000));
        while (!closed) {
            try {
                Thread.sleep(period);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (idle) {
                for (Iterator<UpstreamConnection> it = idle.iterator(); it.hasNext(); ) {
                    UpstreamConnection c = it.next();
                    if (c.idleFor().compareTo(config.idleTimeout()) >= 0) {
                        it.remove();
                        log.debug("closing upstream connection idle for {}", c.idleFor());
                        discard(c);
                    }
                }
            }
        }
    }

    /** Closes every idle connection; busy ones are closed when they come back. */
    @Override
    public void close() {
        closed = true;
        sweeper.interrupt();
        synchronized (idle) {
            while (!idle.isEmpty()) {
                discard(idle.pollFirst());
            }
        }
    }
}
