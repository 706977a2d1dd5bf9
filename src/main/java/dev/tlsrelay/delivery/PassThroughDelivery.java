package dev.tlsrelay.delivery;

import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
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

    private final UpstreamClient upstream;
    private final AuditLog audit;
    private final String relayHostname;

    /** Size and content limits are enforced by the inbound side while the body streams. */
    public PassThroughDelivery(UpstreamClient upstream, AuditLog audit, String relayHostname) {
        this.upstream = upstream;
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
            this.upstreamStart = System.nanoTime();
            try {
                connection = upstream.open(client.sessionId());
                authMechanism = connection.authMechanism();
            } catch (UpstreamException e) {
                return failed(e);
            }
            try {
                SmtpReply r = connection.mailFrom(from, declaredSize, !isAscii(from));
                if (!r.isPositive()) {
                    auditable = true;
                    reason = Optional.of("upstream refused sender: " + r.line());
                }
                return answer(r);
            } catch (UpstreamException e) {
                return failed(e);
            }
        }

        @Override
        public SmtpReply recipient(String rcpt) {
            recipients.add(rcpt);
            if (connection == null) {
                return answer(new SmtpReply(503, "5.5.1 Need MAIL first"));
            }
            try {
                SmtpReply r = connection.rcpt(rcpt);
                if (r.isPositive()) {
                    accepted++;
                } else {
                    auditable = true;
                    reason = Optional.of("upstream refused recipient <" + rcpt + ">: " + r.line());
                    log.info("[{}] upstream refused recipient <{}>: {}", client.sessionId(), rcpt, r.line());
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
                SmtpReply r = connection.endData();
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
                    tlsSession, reused, upstreamTime, authMechanism));
            if (relayed) {
                log.info("[{}] relayed <{}> from {} to {} recipient(s), {} bytes: {}", client.sessionId(), sender,
                        client.clientAddress(), accepted, size, upstreamReply.orElse(""));
            } else {
                log.warn("[{}] not relayed <{}> from {}: {}", client.sessionId(), sender, client.clientAddress(),
                        reason.orElse("unknown"));
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
