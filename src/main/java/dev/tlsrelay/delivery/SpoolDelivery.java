package dev.tlsrelay.delivery;

import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.route.RouteTable;
import dev.tlsrelay.spool.QueuedMessage;
import dev.tlsrelay.spool.Spool;
import dev.tlsrelay.upstream.SmtpReply;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Store-and-forward: the client gets 250 only once its message is durably in the {@link Spool};
 * the {@link QueueRunner} then delivers it with retries. When the spool is full or its disk nearly
 * so, new messages get {@code 452 4.3.1} instead of being taken and then lost.
 */
public final class SpoolDelivery implements Delivery {

    private static final Logger log = LoggerFactory.getLogger(SpoolDelivery.class);
    private static final int BUFFER = 16 * 1024;

    private final Spool spool;
    private final QueueRunner runner;
    private final AuditLog audit;
    private final RelayConfig.Spool limits;
    private final String relayHostname;
    private final RouteTable routes;
    private final Clock clock;

    /**
     * Size and content limits are enforced by the inbound side while the body streams; a route's
     * size limit here, so a message no route of its recipients can take is never queued. A message is
     * stamped received (and due) at {@code clock}'s time, the runner's clock.
     */
    public SpoolDelivery(Spool spool, QueueRunner runner, AuditLog audit, RelayConfig.Spool limits,
            String relayHostname, RouteTable routes, Clock clock) {
        this.routes = routes;
        this.clock = clock;
        this.spool = spool;
        this.runner = runner;
        this.audit = audit;
        this.limits = limits;
        this.relayHostname = relayHostname;
    }

    @Override
    public Transaction begin(ClientSession client) {
        return new Spooling(client);
    }

    /** Why new mail cannot be taken right now, if it cannot. */
    private java.util.Optional<SmtpReply> backPressure(long incoming) {
        try {
            if (spool.size() >= limits.maxMessages()) {
                return java.util.Optional.of(new SmtpReply(452, "4.3.1 The relay's queue is full ("
                        + limits.maxMessages() + " messages); try again later"));
            }
            if (spool.freeSpace() - incoming < limits.minFreeSpace()) {
                return java.util.Optional.of(new SmtpReply(452, "4.3.1 The relay is low on disk space; try again"
                        + " later"));
            }
            return java.util.Optional.empty();
        } catch (IOException e) {
            return java.util.Optional.of(new SmtpReply(451, "4.3.0 The relay cannot read its queue; try again later"));
        }
    }

    private final class Spooling implements Transaction {
        private final ClientSession client;
        private String sender = "";
        private long declaredSize;
        private final List<String> recipients = new ArrayList<>();
        /** The smallest size limit among the routes of the recipients so far; 0: none. */
        private long routeMaxSize;
        private String smallestRoute = "";

        Spooling(ClientSession client) {
            this.client = client;
        }

        @Override
        public SmtpReply mailFrom(String from, long declaredSize) {
            sender = from;
            this.declaredSize = declaredSize;
            Optional<SmtpReply> tooBig = RouteLimits.sizeRefusal(routes,
                    routes.router().candidates(from, client.clientAddress()), declaredSize);
            if (tooBig.isPresent()) {
                return tooBig.get();
            }
            return backPressure(declaredSize).orElse(new SmtpReply(250, "2.1.0 Ok"));
        }

        @Override
        public SmtpReply recipient(String rcpt) {
            RouteTable.Route route = routes.choose(sender, rcpt, client.clientAddress());
            long max = route.limits().maxMessageSize();
            if (max > 0 && declaredSize > max) {
                return RouteLimits.tooLarge(route.name(), max);
            }
            if (max > 0 && (routeMaxSize == 0 || max < routeMaxSize)) {
                routeMaxSize = max;
                smallestRoute = route.name();
            }
            recipients.add(rcpt);
            return new SmtpReply(250, "2.1.5 Ok");
        }

        @Override
        public SmtpReply data(InputStream body) throws IOException {
            Spool.Writer writer;
            try {
                writer = spool.begin();
            } catch (IOException e) {
                PassThroughDelivery.drain(body);
                log.error("[{}] cannot write to the spool: {}", client.sessionId(), e.getMessage());
                return new SmtpReply(451, "4.3.0 The relay cannot store the message; try again later");
            }
            try (writer) {
                byte[] header = ReceivedHeader.build(client, relayHostname, ZonedDateTime.now());
                byte[] buf = new byte[BUFFER];
                boolean stored = store(writer, header, header.length);
                int n;
                // A message is refused whole when it is larger than any of its routes takes.
                if (routeMaxSize > 0) {
                    body = RouteLimits.capped(body, smallestRoute, routeMaxSize);
                }
                // A read failure (client gone, or a limit broken) propagates; the writer then discards.
                while ((n = body.read(buf)) >= 0) {
                    stored = stored && store(writer, buf, n);
                }
                if (!stored) {
                    return new SmtpReply(451, "4.3.0 The relay cannot store the message; try again later");
                }
                var full = backPressure(0);
                if (full.isPresent()) {
                    return full.get();
                }
                QueuedMessage m;
                try {
                    m = writer.commit(client.sessionId(), client.clientAddress(), sender, recipients, clock.instant());
                } catch (IOException e) {
                    log.error("[{}] cannot commit to the spool: {}", client.sessionId(), e.getMessage());
                    return new SmtpReply(451, "4.3.0 The relay cannot store the message; try again later");
                }
                audit.write(new AuditEvent.Queued(clock.instant(), client.sessionId(), m.id(), client.clientAddress(),
                        sender, recipients, m.size()));
                log.info("[{}] queued {} from <{}> for {} recipient(s), {} bytes", client.sessionId(), m.id(),
                        audit.addressDisplay().address(sender), recipients.size(), m.size());
                runner.enqueue(m);
                return new SmtpReply(250, "2.0.0 Ok: queued as " + m.id());
            }
        }

        /** Writes to the spool; on a disk failure logs it, drops the message and keeps reading the client. */
        private boolean store(Spool.Writer writer, byte[] b, int n) {
            try {
                writer.write(b, 0, n);
                return true;
            } catch (IOException e) {
                log.error("[{}] cannot write to the spool (the client will be told to retry): {}",
                        client.sessionId(), e.getMessage());
                writer.abort();
                return false;
            }
        }

        @Override
        public void close() {}
    }
}
