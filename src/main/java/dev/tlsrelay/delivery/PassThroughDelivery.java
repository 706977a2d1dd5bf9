package dev.tlsrelay.delivery;

import dev.tlsrelay.audit.AddressDisplay;
import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.route.RouteTable;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.upstream.SmtpReply;
import dev.tlsrelay.upstream.UpstreamClient;
import dev.tlsrelay.upstream.UpstreamConnection;
import dev.tlsrelay.upstream.UpstreamException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pass-through delivery: each client transaction is mirrored live onto an upstream transaction.
 * MAIL and every RCPT get the upstream's own verdict, and the body streams straight from the client
 * socket to the upstream socket, so the client's final reply to DATA is the upstream's. The relay
 * never answers 250 for a message the upstream did not take.
 */
public final class PassThroughDelivery implements Delivery {

    private static final Logger log = LoggerFactory.getLogger(PassThroughDelivery.class);
    private static final int BUFFER = 16 * 1024;

    private final RouteTable routes;
    private final AuditLog audit;
    private final String relayHostname;

    /** Size and content limits are enforced by the inbound side while the body streams. */
    public PassThroughDelivery(UpstreamClient upstream, AuditLog audit, String relayHostname) {
        this(RouteTable.single(upstream, audit), audit, relayHostname);
    }

    /**
     * Over routes. The route is chosen as soon as it is known: at MAIL when sender and client decide
     * it, else at the first RCPT. The whole transaction then goes over that route's connection; a
     * later recipient of another route gets 452 4.5.3, which tells the client to send it in a new
     * transaction (one live upstream transaction cannot answer DATA truthfully for two upstreams).
     */
    public PassThroughDelivery(RouteTable routes, AuditLog audit, String relayHostname) {
        this.routes = routes;
        this.audit = audit;
        this.relayHostname = relayHostname;
    }

    @Override
    public Transaction begin(ClientSession client) {
        return new PassThrough(client);
    }

    private final class PassThrough implements Transaction {
        private final ClientSession client;
        private UpstreamConnection connection;
        private RouteTable.Route route;
        /** The upstream's refusal of MAIL, given to every RCPT once the route was opened at RCPT. */
        private Optional<SmtpReply> senderRefused = Optional.empty();
        private long declaredSize;
        private String sender = "";
        private final List<String> recipients = new ArrayList<>();
        private int accepted;
        private long size;
        /** Something worth recording happened: DATA, or a refusal or failure on the way. */
        private boolean auditable;
        private boolean relayed;
        private Optional<String> upstreamReply = Optional.empty();
        private Optional<FailureCode> failure = Optional.empty();
        private Optional<String> reason = Optional.empty();
        private long upstreamStart;
        private Optional<java.time.Duration> upstreamTime = Optional.empty();
        private Optional<String> authMechanism = Optional.empty();
        /** The relay's last reply to the client, for the audit: it tells relayed, deferred and refused apart. */
        private SmtpReply lastReply;

        PassThrough(ClientSession client) {
            this.client = client;
        }

        @Override
        public SmtpReply mailFrom(String from, long declaredSize) {
            this.sender = from;
            this.declaredSize = declaredSize;
            this.upstreamStart = System.nanoTime();
            List<String> candidates = routes.router().candidates(from, client.clientAddress());
            Optional<SmtpReply> tooBig = RouteLimits.sizeRefusal(routes, candidates, declaredSize);
            if (tooBig.isPresent()) {
                auditable = true;
                reason = Optional.of(tooBig.get().text());
                return answer(tooBig.get());
            }
            if (candidates.size() > 1) {
                return answer(new SmtpReply(250, "2.1.0 Ok")); // the first recipient decides the route
            }
            Optional<SmtpReply> refused = openRoute(routes.route(candidates.get(0)));
            return answer(refused.orElse(new SmtpReply(250, "2.1.0 Ok")));
        }

        /** Waits for the route's budget, connects and sends MAIL; the refusal to give, if any. */
        private Optional<SmtpReply> openRoute(RouteTable.Route chosen) {
            route = chosen;
            Optional<SmtpReply> wait = RouteLimits.awaitBudget(chosen);
            if (wait.isPresent()) {
                auditable = true;
                reason = Optional.of(wait.get().text());
                return wait;
            }
            try {
                connection = chosen.client().open(client.sessionId());
                authMechanism = connection.authMechanism();
            } catch (UpstreamException e) {
                routes.observe(chosen, e, client.sessionId());
                return Optional.of(failed(e));
            }
            try {
                SmtpReply r = upstreamReply(connection.mailFrom(sender, declaredSize, !isAscii(sender)));
                if (!r.isPositive()) {
                    auditable = true;
                    reason = Optional.of("upstream refused sender: " + r.line());
                    senderRefused = Optional.of(r);
                    return senderRefused;
                }
                return Optional.empty();
            } catch (UpstreamException e) {
                return Optional.of(failed(e));
            }
        }

        /** A reply from the route's upstream: throttling pauses the route, and a spent quota is not final. */
        private SmtpReply upstreamReply(SmtpReply r) {
            if (routes.observe(route, r, client.sessionId()).isPresent() && !r.isTransient()) {
                return new SmtpReply(451, "4.7.0 Route " + route.name() + " is throttled by its upstream (" + r.line()
                        + "); message not sent, try again later");
            }
            return r;
        }

        @Override
        public SmtpReply recipient(String rcpt) {
            recipients.add(rcpt);
            if (route == null) {
                RouteTable.Route chosen = routes.choose(sender, rcpt, client.clientAddress());
                Optional<SmtpReply> tooBig = RouteLimits.sizeRefusal(routes, List.of(chosen.name()), declaredSize);
                if (tooBig.isPresent()) {
                    auditable = true;
                    reason = Optional.of(tooBig.get().text());
                    return answer(tooBig.get());
                }
                Optional<SmtpReply> refused = openRoute(chosen);
                if (refused.isPresent()) {
                    return answer(refused.get());
                }
            } else if (senderRefused.isPresent()) {
                return answer(senderRefused.get());
            } else {
                String other = routes.router().choose(sender, rcpt, client.clientAddress()).route();
                if (!other.equals(route.name())) {
                    return answer(new SmtpReply(452, "4.5.3 <" + rcpt + "> goes through route " + other
                            + ", this message through route " + route.name() + "; send it in a separate message"));
                }
            }
            if (connection == null) {
                return answer(new SmtpReply(503, "5.5.1 Need MAIL first"));
            }
            Optional<SmtpReply> over = RouteLimits.recipientRefusal(route, accepted);
            if (over.isPresent()) {
                return answer(over.get());
            }
            try {
                SmtpReply r = upstreamReply(connection.rcpt(rcpt));
                if (r.isPositive()) {
                    accepted++;
                } else {
                    auditable = true;
                    reason = Optional.of("upstream refused recipient <" + rcpt + ">: " + r.line());
                    AddressDisplay shown = audit.addressDisplay();
                    log.info("[{}] upstream refused recipient <{}>: {}", client.sessionId(), shown.address(rcpt),
                            shown.text(r.line(), List.of(rcpt)));
                }
                return answer(r);
            } catch (UpstreamException e) {
                return failed(e);
            }
        }

        @Override
        public SmtpReply data(InputStream body) throws IOException {
            auditable = true;
            lastReply = null; // until DATA is answered, the client has no final answer
            if (connection == null || accepted == 0) {
                drain(body);
                return answer(new SmtpReply(554, "5.5.1 No valid recipients"));
            }
            body = RouteLimits.capped(body, route);
            OutputStream out;
            try {
                out = connection.beginData();
            } catch (UpstreamException e) {
                drain(body);
                return failed(e);
            }
            byte[] buf = new byte[BUFFER];
            try {
                out.write(ReceivedHeader.build(client, relayHostname, ZonedDateTime.now()));
            } catch (IOException e) {
                drain(body);
                connection.abort();
                return lostUpstream(e);
            }
            while (true) {
                int n;
                try {
                    n = body.read(buf);
                } catch (IOException e) {
                    // The client is gone, or its body broke a rule: abandon the upstream DATA so no
                    // partial message is delivered.
                    if (e instanceof BodyRejectedException rejected) {
                        answer(rejected.reply());
                    }
                    connection.abort();
                    reason = Optional.of("DATA from the client did not complete: " + e.getMessage());
                    auditable = true;
                    throw e;
                }
                if (n < 0) {
                    break;
                }
                size += n;
                try {
                    out.write(buf, 0, n);
                } catch (IOException e) {
                    drain(body);
                    connection.abort();
                    return lostUpstream(e);
                }
            }
            try {
                SmtpReply r = upstreamReply(connection.endData());
                upstreamTime = Optional.of(java.time.Duration.ofNanos(System.nanoTime() - upstreamStart));
                upstreamReply = Optional.of(r.line());
                relayed = r.isPositive();
                if (!relayed) {
                    reason = Optional.of("upstream refused the message");
                }
                return answer(r);
            } catch (UpstreamException e) {
                return failed(e);
            }
        }

        private SmtpReply lostUpstream(IOException e) {
            SmtpReply r = new SmtpReply(451, "4.4.2 Connection to the upstream server lost during DATA ("
                    + e.getMessage() + "); message not sent, try again later");
            reason = Optional.of(r.text());
            return answer(r);
        }

        private SmtpReply failed(UpstreamException e) {
            failure = e.tlsFailure();
            reason = Optional.of(e.clientReply().text());
            if (e.authMechanism().isPresent()) {
                authMechanism = e.authMechanism();
            }
            auditable = true;
            if (connection != null) {
                connection.abort();
            }
            return answer(e.clientReply());
        }

        private SmtpReply answer(SmtpReply r) {
            lastReply = r;
            return r;
        }

        @Override
        public void close() {
            boolean reused = connection != null && connection.reused();
            Optional<String> tlsSession = reused ? Optional.of(connection.negotiatedBy()) : Optional.empty();
            if (connection != null) {
                connection.close();
            }
            if (!auditable) {
                return; // the client abandoned the transaction before anything was sent or refused
            }
            audit.write(new AuditEvent.Message(Instant.now(), client.sessionId(), client.clientAddress(), sender,
                    recipients, accepted, size, relayed,
                    lastReply == null ? OptionalInt.empty() : OptionalInt.of(lastReply.code()), upstreamReply,
                    failure.map(FailureCode::auditName), relayed ? Optional.empty() : reason, Optional.empty(),
                    tlsSession, reused, upstreamTime, Optional.ofNullable(route).map(RouteTable.Route::name),
                    authMechanism));
            AddressDisplay shown = audit.addressDisplay();
            List<String> addresses = new ArrayList<>(recipients);
            addresses.add(sender);
            if (relayed) {
                log.info("[{}] relayed <{}> from {} to {} recipient(s), {} bytes: {}", client.sessionId(),
                        shown.address(sender), client.clientAddress(), accepted, size,
                        shown.text(upstreamReply.orElse(""), addresses));
            } else {
                log.warn("[{}] not relayed <{}> from {}: {}", client.sessionId(), shown.address(sender),
                        client.clientAddress(), shown.text(reason.orElse("unknown"), addresses));
            }
        }
    }

    private static boolean isAscii(String s) {
        return s.chars().allMatch(c -> c < 128);
    }

    /** Reads and discards the rest of a body, so none of it is read as commands. */
    static void drain(InputStream body) throws IOException {
        body.transferTo(OutputStream.nullOutputStream());
    }
}
