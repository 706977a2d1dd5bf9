package dev.tlsrelay.probe;

import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.audit.AuditLog;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.delivery.ClientSession;
import dev.tlsrelay.delivery.PassThroughDelivery;
import dev.tlsrelay.delivery.Transaction;
import dev.tlsrelay.tls.TlsNegotiation;
import dev.tlsrelay.upstream.SmtpReply;
import dev.tlsrelay.upstream.UpstreamClient;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * {@code tlsrelay send-test}: one small message through the configured upstream, by the very code
 * {@code run} uses (the same {@link UpstreamClient} with its smarthosts in order, TLS policy and
 * AUTH, and {@link PassThroughDelivery}), with the same audit lines a relayed message gets. Before
 * it, a probe of each configured smarthost with that policy, so the negotiation is shown with the
 * same facts and verdicts as {@code tlsrelay probe}.
 *
 * <p>In spool mode too the test message goes straight to the upstream, not through the queue: the
 * point is to see the upstream's own reply now.
 */
public final class SendTest {

    /** The address the test appears to come from in the audit and the trace header: this machine. */
    static final String CLIENT_ADDRESS = "127.0.0.1";
    static final String CLIENT_NAME = "tlsrelay-send-test";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    private SendTest() {}

    /**
     * What happened.
     *
     * @param probes      a probe of each configured smarthost, in order, with the configured policy
     * @param sessionId   the session id on this test's audit lines
     * @param negotiation the TLS negotiation of the send itself, as audited
     * @param dialogue    each step of the transaction with the reply the relay's delivery gave
     * @param delivered   the upstream accepted the message
     */
    public record Outcome(List<ProbeReport> probes, String sessionId, Optional<TlsNegotiation> negotiation,
            List<Step> dialogue, boolean delivered) {

        public Outcome {
            probes = List.copyOf(probes);
            dialogue = List.copyOf(dialogue);
        }

        /** The upstream's final reply, or the reply the relay gave instead. */
        public Optional<SmtpReply> lastReply() {
            return dialogue.isEmpty() ? Optional.empty() : Optional.of(dialogue.get(dialogue.size() - 1).reply());
        }
    }

    /** One command of the transaction and its reply. */
    public record Step(String command, SmtpReply reply) {}

    /**
     * The envelope sender {@code run} would give the upstream for {@code from}: the configured
     * {@code relay.rewrite-from}, if any, replaces it.
     */
    public static String envelopeSender(RelayConfig config, String from) {
        return config.senders().rewriteFrom().orElse(from);
    }

    /**
     * Probes each smarthost, then sends one message from {@code from} (after the configured
     * rewrite, as {@code run} does) to {@code to}.
     *
     * @throws IOException if the audit file cannot be opened
     * @throws GeneralSecurityException if the configured trust anchors are unusable
     */
    public static Outcome run(RelayConfig config, String from, String to) throws IOException, GeneralSecurityException {
        RelayConfig.Upstream u = config.upstream();
        List<ProbeReport> probes = new ArrayList<>();
        for (RelayConfig.Route route : u.routes()) {
            String why = (u.routes().size() > 1 ? "smarthost " + (probes.size() + 1) + " of " + u.routes().size()
                    + ", " : "") + "upstream security " + route.security().configName();
            ProbeRequest request = new ProbeRequest(route.host(), route.port(), route.security(), why, u.tls(),
                    Optional.empty(), config.listen().hostname(), u.auth().isPresent(), Optional.empty());
            probes.add(new ServerProbe(request).run());
        }
        String sender = envelopeSender(config, from);

        String sessionId = "send-test-" + randomId();
        List<TlsNegotiation> negotiations = new CopyOnWriteArrayList<>();
        List<Step> dialogue = new ArrayList<>();
        boolean delivered = false;
        try (AuditLog audit = AuditLog.open(config.audit().file())) {
            audit.addListener(e -> {
                if (e instanceof AuditEvent.Handshake h && h.session().equals(sessionId)) {
                    negotiations.add(h.negotiation());
                }
            });
            UpstreamClient upstream = new UpstreamClient(u, config.listen().hostname(), audit);
            PassThroughDelivery delivery = new PassThroughDelivery(upstream, audit, config.listen().hostname());
            byte[] message = message(config, sessionId, sender, to);
            try (Transaction t = delivery.begin(new ClientSession(sessionId, CLIENT_ADDRESS, CLIENT_NAME))) {
                SmtpReply mail = t.mailFrom(sender, message.length);
                dialogue.add(new Step("MAIL FROM:<" + sender + ">", mail));
                if (mail.isPositive()) {
                    SmtpReply rcpt = t.recipient(to);
                    dialogue.add(new Step("RCPT TO:<" + to + ">", rcpt));
                    if (rcpt.isPositive()) {
                        SmtpReply data = t.data(new ByteArrayInputStream(message));
                        dialogue.add(new Step("DATA (" + message.length + " bytes)", data));
                        delivered = data.isPositive();
                    }
                }
            }
        }
        // With several smarthosts the last negotiation is the one the message went over (or the last failure).
        return new Outcome(probes, sessionId, negotiations.isEmpty() ? Optional.empty()
                : Optional.of(negotiations.get(negotiations.size() - 1)), dialogue, delivered);
    }

    /** A small plain-text message that says what it is and how it travelled. */
    static byte[] message(RelayConfig config, String sessionId, String from, String to) {
        RelayConfig.Upstream u = config.upstream();
        ZonedDateTime now = ZonedDateTime.now();
        String text = "From: tlsrelay send-test <" + from + ">\r\n"
                + "To: <" + to + ">\r\n"
                + "Subject: tlsrelay send-test via " + u.primary().host() + "\r\n"
                + "Date: " + DateTimeFormatter.RFC_1123_DATE_TIME.withLocale(Locale.ROOT).format(now) + "\r\n"
                + "Message-ID: <" + sessionId + "@" + config.listen().hostname() + ">\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=US-ASCII\r\n"
                + "Content-Transfer-Encoding: 7bit\r\n"
                + "\r\n"
                + "This is a test message from tlsrelay send-test.\r\n"
                + "\r\n"
                + "It was sent through " + u.routes() + " with the relay's configured\r\n"
                + "TLS policy: " + ProbeOutput.describe(u.tls()) + ".\r\n"
                + "Audit session: " + sessionId + "\r\n";
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static String randomId() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            sb.append(ID_ALPHABET.charAt(RANDOM.nextInt(ID_ALPHABET.length())));
        }
        return sb.toString();
    }
}
