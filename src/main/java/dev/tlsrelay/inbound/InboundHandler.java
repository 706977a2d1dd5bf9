package dev.tlsrelay.inbound;

import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.delivery.BodyRejectedException;
import dev.tlsrelay.delivery.ClientSession;
import dev.tlsrelay.delivery.Delivery;
import dev.tlsrelay.delivery.Transaction;
import dev.tlsrelay.upstream.SmtpReply;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.Session;

/**
 * One inbound mail transaction: validates what the client sends at the edge, hands each step to
 * the delivery side and turns its reply into the SMTP answer.
 */
final class InboundHandler implements MessageHandler {

    /** RFC 5321 4.5.3.1.3: a path is at most 256 octets including the angle brackets. */
    private static final int MAX_ADDRESS = 254;

    private final MessageContext ctx;
    private final Delivery delivery;
    private final RelayConfig.Listen limits;
    private final SenderPolicy senders;
    private final AtomicInteger inFlight;
    private final boolean draining;
    private Transaction transaction;

    InboundHandler(MessageContext ctx, Delivery delivery, RelayConfig.Listen limits, SenderPolicy senders,
            AtomicInteger inFlight, boolean draining) {
        this.ctx = ctx;
        this.delivery = delivery;
        this.limits = limits;
        this.senders = senders;
        this.inFlight = inFlight;
        this.draining = draining;
    }

    @Override
    public void from(String sender) throws RejectException {
        if (draining) {
            throw new RejectException(421, "4.3.2 Relay shutting down, try again later");
        }
        Optional<String> bad = addressProblem(sender, true);
        if (bad.isPresent()) {
            throw new RejectException(553, "5.1.7 Bad sender address: " + bad.get());
        }
        if (!senders.allows(sender)) {
            throw new RejectException(553, "5.7.1 Sender <" + sender + "> is not allowed to relay here"
                    + " (relay.allowed-senders)");
        }
        inFlight.incrementAndGet();
        transaction = delivery.begin(clientSession());
        reject(transaction.mailFrom(senders.envelopeSender(sender), ((Session) ctx).getDeclaredMessageSize()));
    }

    @Override
    public void recipient(String recipient) throws RejectException {
        Optional<String> bad = addressProblem(recipient, false);
        if (bad.isPresent()) {
            throw new RejectException(553, "5.1.3 Bad recipient address: " + bad.get());
        }
        reject(transaction.recipient(recipient));
    }

    @Override
    public String data(InputStream body) throws RejectException, IOException {
        RelayConfig.Abuse abuse = limits.abuse();
        DataGuard guard = new DataGuard(body, abuse.bareNewline(), limits.maxMessageSize(), abuse.maxLineLength());
        SmtpReply reply;
        try {
            reply = transaction.data(senders.body(guard));
        } catch (BodyRejectedException e) {
            // The delivery side has abandoned its copy. Read the client's body to its end so no
            // line of it is taken for a command, then refuse.
            body.transferTo(OutputStream.nullOutputStream());
            reply = e.reply();
        }
        if (!reply.isPositive()) {
            // SubEthaSMTP keeps the transaction open after a refused DATA; end it so the client can
            // send its next MAIL without an RSET.
            ((Session) ctx).resetMailTransaction();
            throw new RejectException(reply.code(), reply.text());
        }
        return reply.text();
    }

    @Override
    public void done() {
        if (transaction != null) {
            try {
                transaction.close();
            } finally {
                transaction = null;
                inFlight.decrementAndGet();
            }
        }
    }

    private static void reject(SmtpReply reply) throws RejectException {
        if (!reply.isPositive()) {
            throw new RejectException(reply.code(), reply.text());
        }
    }

    private ClientSession clientSession() {
        String ip = ((InetSocketAddress) ctx.getRemoteAddress()).getAddress().getHostAddress();
        Optional<String> user = ((Session) ctx).isAuthenticated()
                ? ctx.getAuthenticationHandler().map(h -> h.getIdentity()).map(String::valueOf) : Optional.empty();
        return new ClientSession(ctx.getSessionId(), ip, sanitiseHelo(ctx.getHelo().orElse("")),
                ((Session) ctx).isTLSStarted(), user);
    }

    /** The client's EHLO name goes into a header: keep only what a host name or literal may hold. */
    static String sanitiseHelo(String helo) {
        String clean = helo.replaceAll("[^A-Za-z0-9.\\-_:\\[\\]]", "");
        if (clean.length() > 255) {
            clean = clean.substring(0, 255);
        }
        return clean.isEmpty() ? "unknown" : clean;
    }

    /** Why an envelope address is unacceptable, if it is. The null sender is fine for MAIL. */
    static Optional<String> addressProblem(String address, boolean sender) {
        if (address.isEmpty()) {
            return sender ? Optional.empty() : Optional.of("empty address");
        }
        if (address.length() > MAX_ADDRESS) {
            return Optional.of("longer than " + MAX_ADDRESS + " characters");
        }
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            if (c < 0x21 || c == 0x7f || c == '<' || c == '>') {
                return Optional.of("contains a space, control character or angle bracket");
            }
        }
        if (address.indexOf('@') <= 0 && !(!sender && address.equalsIgnoreCase("postmaster"))) {
            return Optional.of("expected local-part@domain");
        }
        return Optional.empty();
    }
}
