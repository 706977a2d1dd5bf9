package dev.tlsrelay.inbound;

import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.delivery.Delivery;
import java.io.IOException;
import java.net.BindException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.subethamail.smtp.server.SMTPServer;

/**
 * The legacy-side SMTP listener: plain ESMTP with PIPELINING, 8BITMIME, SIZE and SMTPUTF8, an
 * allow-list checked before the greeting, a virtual thread per session, and every limit set
 * explicitly from the configuration (never SubEthaSMTP's defaults).
 */
public final class RelayServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RelayServer.class);

    private final SMTPServer server;
    private final AccessPolicy access;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean draining = new AtomicBoolean();
    private volatile RelayConfig.Listen listen;
    private volatile Delivery delivery;
    private volatile SenderPolicy senders;

    private RelayServer(RelayConfig.Listen listen, RelayConfig.SenderPolicy senderConfig, Delivery delivery,
            LanMode lan) {
        this.listen = listen;
        this.delivery = delivery;
        this.senders = new SenderPolicy(senderConfig);
        this.access = new AccessPolicy(listen.allowedNetworks(), listen.abuse());
        this.server = lan.build(SMTPServer.port(listen.port())
                .bindAddress(listen.host())
                .hostName(listen.hostname())
                .softwareName("tlsrelay")
                .maxConnections(listen.maxConnections())
                .connectionTimeout((int) listen.timeout().toMillis(), TimeUnit.MILLISECONDS)
                .maxRecipients(listen.maxRecipients())
                .maxMessageSize((int) listen.maxMessageSize())
                // Ours is added by the delivery side, without SubEthaSMTP's reverse DNS lookup.
                .insertReceivedHeaders(false)
                .sessionHandler(access)
                .serverSocketFactory(() -> new GuardedServerSocket(listen.abuse()))
                .executorService(Executors.newVirtualThreadPerTaskExecutor())
                // Read per transaction, so a reload applies to the next MAIL of every session.
                .messageHandlerFactory(ctx -> new InboundHandler(ctx, this.delivery, this.listen, this.senders,
                        inFlight, draining.get())));
        // After LAN mode has put its own EHLO/STARTTLS/AUTH in place: the guards wrap every command.
        CommandGuards.install(server.getCommandHandler());
    }

    /**
     * Binds and starts listening, with STARTTLS and AUTH as {@code lan} says.
     *
     * @throws BindException if the address or port is in use or not available
     */
    public static RelayServer start(RelayConfig.Listen listen, RelayConfig.SenderPolicy senders, Delivery delivery,
            LanMode lan) throws IOException {
        RelayServer r = new RelayServer(listen, senders, delivery, lan);
        try {
            r.server.start();
        } catch (RuntimeException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e;
        }
        log.info("listening on {}:{} for clients in {}", listen.host().getHostAddress(), r.port(),
                listen.allowedNetworks());
        return r;
    }

    /** The port actually bound (differs from the configured one when that was 0). */
    public int port() {
        int allocated = server.getPortAllocated();
        return allocated > 0 ? allocated : listen.port();
    }

    /**
     * Applies a reloaded configuration to transactions that start from now on; sessions and
     * transactions in flight finish as they began. Bind address, port, host name, connection count,
     * recipient count and the idle timeout are fixed at start.
     */
    public void update(RelayConfig.Listen newListen, RelayConfig.SenderPolicy newSenders, Delivery newDelivery) {
        this.listen = newListen;
        this.senders = new SenderPolicy(newSenders);
        this.delivery = newDelivery;
        access.update(newListen.allowedNetworks(), newListen.abuse());
    }

    /** Client sessions open right now. */
    public int activeSessions() {
        return access.activeSessions();
    }

    /** Whether the listener accepts connections. */
    public boolean listening() {
        return server.isRunning() && !draining.get();
    }

    /** Transactions between MAIL and their end, right now. */
    public int inFlight() {
        return inFlight.get();
    }

    /**
     * Stops taking new clients and transactions, waits up to {@code timeout} for the ones in flight
     * to finish, then closes every connection.
     */
    public void drainAndStop(Duration timeout) {
        draining.set(true);
        access.startDraining();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (inFlight.get() > 0) {
            log.warn("{} transaction(s) still in flight after {}; closing their connections (their clients"
                    + " got no 250 and will retry)", inFlight.get(), timeout);
        }
        server.stop();
    }

    @Override
    public void close() {
        server.stop();
    }
}
