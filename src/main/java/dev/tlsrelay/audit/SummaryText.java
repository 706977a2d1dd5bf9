package dev.tlsrelay.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.stream.Collectors;

/** A {@link Summary} (with the chain's {@link Verification}) as plain text for people, or as JSON. */
public final class SummaryText {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SummaryText() {}

    /** The sentence about unprotected mail, always present: an auditor must not have to infer a zero. */
    public static String tlsVerdict(Summary s) {
        long relayed = s.messageCount(MessageFate.RELAYED);
        if (s.relayedWithoutTls() == 0) {
            return "Messages relayed without verified TLS 1.2+: 0. Every one of the " + relayed + " relayed"
                    + " message(s) followed a successful TLS 1.2+ upstream handshake in its session.";
        }
        return "WARNING: " + s.relayedWithoutTls() + " of the " + relayed + " relayed message(s) did NOT follow a"
                + " successful TLS 1.2+ upstream handshake in their session (listed below).";
    }

    public static String text(Summary s, Verification v) {
        StringBuilder o = new StringBuilder();
        o.append("tlsrelay audit summary: ").append(s.window().describe());
        s.firstEvent().ifPresent(f -> o.append(" (events ").append(f).append(" .. ")
                .append(s.lastEvent().orElseThrow()).append(')'));
        o.append(", ").append(s.events()).append(" line(s)\n");
        o.append("chain: ").append(v.verdict()).append("\n\n");

        o.append(tlsVerdict(s)).append('\n');
        for (Summary.Unprotected u : s.withoutTls()) {
            o.append("  ").append(u.ts()).append("  session ").append(u.session()).append("  ")
                    .append(u.file().getFileName()).append(':').append(u.line()).append("  ").append(u.why())
                    .append('\n');
        }
        o.append('\n');

        o.append("Handshakes: ").append(s.handshakes()).append(" (").append(inline(s.handshakesByOutcome()))
                .append(")\n");
        o.append("  by direction:       ").append(inline(s.handshakesByDirection())).append('\n');
        o.append("  by protocol (ok):   ").append(inline(s.handshakesByProtocol())).append('\n');
        o.append("  by cipher (ok):     ").append(inline(s.handshakesByCipher())).append('\n');
        o.append("Failures by code:");
        table(o, s.failuresByCode());
        o.append("Failures by peer:");
        table(o, s.failuresByPeer());
        o.append('\n');

        o.append("Messages: relayed ").append(s.messageCount(MessageFate.RELAYED))
                .append(", deferred ").append(s.messageCount(MessageFate.DEFERRED))
                .append(", failed ").append(s.messageCount(MessageFate.FAILED)).append('\n');
        if (!s.messagesByClient().isEmpty()) {
            o.append(String.format("  %-40s %8s %8s %8s%n", "client", "relayed", "deferred", "failed"));
            s.messagesByClient().forEach((client, c) -> o.append(String.format("  %-40s %8d %8d %8d%n", client,
                    c.relayed(), c.deferred(), c.failed())));
        }
        o.append('\n');

        o.append("Upstream certificates seen: ").append(s.certificates().size()).append('\n');
        for (Summary.CertificateSeen c : s.certificates()) {
            o.append("  ").append(c.subject()).append("  issued by ").append(c.issuer()).append('\n')
                    .append("    valid until ").append(c.notAfter()).append(" (").append(days(c)).append(")")
                    .append(", verified ").append(c.verified()).append("x, refused ").append(c.refused()).append("x")
                    .append(", peers ").append(String.join(" ", c.peers())).append('\n')
                    .append("    sha256 ").append(c.sha256()).append('\n');
        }
        for (Summary.CertificateSeen c : s.expiringCertificates()) {
            o.append("WARNING: certificate ").append(c.subject()).append(" of ").append(String.join(" ", c.peers()))
                    .append(c.daysLeft() < 0 ? " has expired (" : " expires in less than "
                            + Summary.EXPIRY_WARNING_DAYS + " days (")
                    .append(c.notAfter()).append(")\n");
        }
        o.append('\n');
        o.append("Relay starts: ").append(s.starts());
        if (s.uncleanStarts() > 0) {
            o.append(" (").append(s.uncleanStarts()).append(" without a clean stop before: crash, kill, or a cut log)");
        }
        o.append('\n');
        return o.toString();
    }

    public static ObjectNode json(Summary s, Verification v) {
        ObjectNode o = JSON.createObjectNode();
        ObjectNode window = o.putObject("window");
        s.window().since().ifPresent(t -> window.put("since", t.toString()));
        s.window().until().ifPresent(t -> window.put("until", t.toString()));
        o.put("generated_at", s.generatedAt().toString());
        o.put("events", s.events());
        s.firstEvent().ifPresent(t -> o.put("first_event", t.toString()));
        s.lastEvent().ifPresent(t -> o.put("last_event", t.toString()));
        ObjectNode chain = o.putObject("chain");
        chain.put("intact", v.intact());
        chain.put("lines", v.lines());
        chain.put("first_seq", v.firstSeq());
        chain.put("last_seq", v.lastSeq());
        chain.put("algorithm", v.algorithm());
        v.problem().ifPresent(p -> chain.put("problem", p.toString()));
        ObjectNode hs = o.putObject("handshakes");
        hs.put("total", s.handshakes());
        counts(hs.putObject("by_direction"), s.handshakesByDirection());
        counts(hs.putObject("by_outcome"), s.handshakesByOutcome());
        counts(hs.putObject("by_protocol"), s.handshakesByProtocol());
        counts(hs.putObject("by_cipher"), s.handshakesByCipher());
        counts(hs.putObject("failures_by_code"), s.failuresByCode());
        counts(hs.putObject("failures_by_peer"), s.failuresByPeer());
        ObjectNode msgs = o.putObject("messages");
        for (MessageFate f : MessageFate.values()) {
            msgs.put(f.word(), s.messageCount(f));
        }
        ObjectNode clients = msgs.putObject("by_client");
        s.messagesByClient().forEach((client, c) -> {
            ObjectNode n = clients.putObject(client);
            n.put("relayed", c.relayed());
            n.put("deferred", c.deferred());
            n.put("failed", c.failed());
        });
        msgs.put("relayed_without_tls", s.relayedWithoutTls());
        msgs.put("tls_verdict", tlsVerdict(s));
        ArrayNode unprotected = msgs.putArray("relayed_without_tls_examples");
        for (Summary.Unprotected u : s.withoutTls()) {
            ObjectNode n = unprotected.addObject();
            n.put("file", u.file().toString());
            n.put("line", u.line());
            n.put("ts", u.ts().toString());
            n.put("session", u.session());
            n.put("why", u.why());
        }
        ArrayNode certs = o.putArray("certificates");
        for (Summary.CertificateSeen c : s.certificates()) {
            ObjectNode n = certs.addObject();
            n.put("sha256", c.sha256());
            n.put("subject", c.subject());
            n.put("issuer", c.issuer());
            c.notBefore().ifPresent(t -> n.put("not_before", t.toString()));
            n.put("not_after", c.notAfter().toString());
            n.put("days_left", c.daysLeft());
            n.put("expiring_soon", c.expiringSoon());
            ArrayNode peers = n.putArray("peers");
            c.peers().forEach(peers::add);
            n.put("first_seen", c.firstSeen().toString());
            n.put("last_seen", c.lastSeen().toString());
            n.put("verified", c.verified());
            n.put("refused", c.refused());
        }
        o.put("relay_starts", s.starts());
        o.put("unclean_starts", s.uncleanStarts());
        return o;
    }

    private static String days(Summary.CertificateSeen c) {
        if (c.daysLeft() < 0) {
            return "EXPIRED " + (-c.daysLeft()) + " day(s) ago";
        }
        return c.daysLeft() + " day(s) left" + (c.expiringSoon() ? ", EXPIRING SOON" : "");
    }

    private static String inline(Map<String, Long> counts) {
        return counts.isEmpty() ? "none" : counts.entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                .collect(Collectors.joining(", "));
    }

    private static void table(StringBuilder o, Map<String, Long> counts) {
        if (counts.isEmpty()) {
            o.append(" none\n");
            return;
        }
        o.append('\n');
        counts.forEach((k, n) -> o.append(String.format("  %-40s %8d%n", k, n)));
    }

    private static void counts(ObjectNode o, Map<String, Long> counts) {
        counts.forEach(o::put);
    }
}
