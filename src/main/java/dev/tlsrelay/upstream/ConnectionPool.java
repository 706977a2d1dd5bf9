package dev.tlsrelay.upstream;

import dev.tlsrelay.config.RelayConfig;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verified, authenticated upstream connections kept open for the next message, as MTAs do: a TLS
 * handshake and AUTH per message would cost more than the message. Bounded in number
 * ({@code upstream.pool.max-connections}, busy and idle together), in idle time and in messages per
 * connection. A connection goes back only after a clean RSET; one idle for a while is probed (NOOP)
 * before reuse; any error or 421 retires it. A connection that has carried its
 * {@code max-messages-per-connection} while no other is idle is replaced in the background (QUIT,
 * then a new verified connection opened into the pool on the same permit), so the next message does
 * not wait for a TLS handshake, EHLO and AUTH; not with a limit of 1, which means no reuse. A caller finding every
 * connection busy waits for the first one to come back (or for a free permit), up to the upstream
 * timeout.
 */
final class ConnectionPool implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConnectionPool.class);
    /** Idle for less than this, a connection that just passed RSET is trusted without a NOOP. */
    private static final Duration PROBE_AFTER = Duration.ofSeconds(1);

    /** Opens a new verified connection, audited under the given session id. */
    interface Opener {
        UpstreamConnection open(String sessionId) throws UpstreamException;
    }

    private final RelayConfig.Pool config;
    private final Duration acquireTimeout;
    private final Opener opener;
    private final Semaphore permits;
    private final Deque<UpstreamConnection> idle = new ArrayDeque<>();
    private final Thread sweeper;
    /**
     * Signalled, and {@link #changes} counted up, whenever a connection goes back idle or a permit is
     * freed. A lock and condition rather than a monitor: a waiting virtual thread does not pin its
     * carrier on JDK 21.
     */
    private final ReentrantLock waitLock = new ReentrantLock();
    private final Condition available = waitLock.newCondition();
    private final AtomicLong changes = new AtomicLong();
    private volatile boolean closed;

    ConnectionPool(RelayConfig.Pool config, Duration acquireTimeout, Opener opener) {
        this.config = config;
        this.acquireTimeout = acquireTimeout;
        this.opener = opener;
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

    /**
     * What {@link #acquire} got: an idle connection to reuse, or (when {@code idle} is null) a permit
     * to open a new one.
     */
    record Grant(UpstreamConnection idle) {}

    /**
     * An idle connection, else a permit for a new one, else waits for either until the upstream
     * timeout; null when none came (or the pool is closed). A connection that comes back idle while
     * callers wait goes to one of them: waiting for a permit alone would leave them waiting until some
     * connection is retired, while newcomers take the connections they are waiting for.
     */
    Grant acquire() throws InterruptedException {
        long deadline = System.nanoTime() + acquireTimeout.toNanos();
        while (!closed) {
            long seen = changes.get();
            Optional<UpstreamConnection> c = takeIdle();
            if (c.isPresent()) {
                return new Grant(c.get());
            }
            if (permits.tryAcquire()) {
                return new Grant(null);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            waitLock.lockInterruptibly();
            try {
                // Nothing came back since we looked: wait. A change after this check is signalled
                // under the same lock, so it wakes us.
                if (changes.get() == seen && !closed) {
                    available.awaitNanos(left);
                }
            } finally {
                waitLock.unlock();
            }
        }
        return null;
    }

    private void signalAvailable() {
        changes.incrementAndGet();
        waitLock.lock();
        try {
            available.signalAll();
        } finally {
            waitLock.unlock();
        }
    }

    /** Gives back the permit of a connection that could not be opened. */
    void releasePermit() {
        permits.release();
        signalAvailable();
    }

    /** Takes a connection back after use: kept if sound and reset, closed otherwise. */
    void release(UpstreamConnection c) {
        if (closed || c.broken()) {
            discard(c);
            return;
        }
        if (!c.reusable(config.maxMessagesPerConnection())) {
            boolean othersIdle;
            synchronized (idle) {
                othersIdle = !idle.isEmpty();
            }
            if (config.maxMessagesPerConnection() > 1 && !othersIdle) {
                replace(c);
            } else {
                discard(c); // the next message takes one of the idle connections
            }
            return;
        }
        if (!c.resetForReuse()) {
            discard(c);
            return;
        }
        offer(c);
    }

    private void offer(UpstreamConnection c) {
        synchronized (idle) {
            if (!closed) {
                idle.addFirst(c);
                c = null;
            }
        }
        if (c != null) {
            discard(c);
            return;
        }
        signalAvailable();
    }

    /**
     * Retires a connection that carried its share of messages and opens its successor on the same
     * permit, off the caller's thread: the QUIT round trip and the new TLS handshake, EHLO and AUTH
     * (tens of milliseconds) would otherwise fall on the next message. The successor's handshake is
     * audited under the session that last used the retired connection. If it cannot be opened, the
     * permit is freed and the next message opens (and reports) its own.
     */
    private void replace(UpstreamConnection spent) {
        String session = spent.lastSession();
        Thread.ofVirtual().name("tlsrelay-pool-replace").start(() -> {
            spent.quit();
            UpstreamConnection fresh = null;
            if (!closed) {
                try {
                    fresh = opener.open(session);
                } catch (UpstreamException | RuntimeException e) {
                    log.debug("[{}] could not open a replacement upstream connection: {}", session, e.getMessage());
                }
            }
            if (fresh == null) {
                permits.release();
                signalAvailable();
                return;
            }
            offer(fresh);
        });
    }

    private void discard(UpstreamConnection c) {
        c.quit();
        permits.release();
        signalAvailable();
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
        signalAvailable();
    }
}
