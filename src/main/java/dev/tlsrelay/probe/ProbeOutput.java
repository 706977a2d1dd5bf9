package dev.tlsrelay.probe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tlsrelay.tls.ServerIdentity;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsNegotiation;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.VersionProbeResult;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A probe report for people (aligned text) and for programs (one JSON object with the same facts).
 * The JSON field names are stable: scripts and monitoring read them.
 */
public final class ProbeOutput {

    static final ObjectMapper JSON = new ObjectMapper();

    private ProbeOutput() {}

    /** The policy in one line: {@code TLS 1.2+, verify full against JDK trust store, 9 cipher suites}. */
    public static String describe(TlsPolicy p) {
        return p.minVersion().protocolName() + "+, verify " + p.verify().configName()
                + (p.verify() == dev.tlsrelay.tls.VerifyMode.FULL ? " against " + p.trust().describe() : "")
                + (p.pins().isEmpty() ? "" : ", pins " + p.pins()) + ", " + p.cipherSuites().size()
                + " cipher suites, timeout " + ServerProbe.seconds(p.handshakeTimeout());
    }

    /** The full text report. */
    public static void text(ProbeReport r, PrintWriter out) {
        ProbeRequest q = r.request();
        out.printf("tlsrelay probe %s (%s, %s)%n", q.target(), q.mode().configName(), q.modeReason());
        out.printf("policy     %s%n", describe(q.policy()));
        out.println();
        out.printf("connect    %s%n", r.connectedTo().orElse("failed"));
        r.greeting().ifPresent(g -> out.printf("greeting   %s%n", g));
        r.beforeTls().ifPresent(c -> out.printf("ehlo       before TLS: %s%n", capabilities(c, true)));
        r.startTls().ifPresent(s -> out.printf("starttls   %s%n", s));
        TlsNegotiation n = r.negotiation();
        if (n.ok()) {
            out.printf("tls        %s, %s, handshake %d ms%n", n.protocol().orElse("?"), n.cipher().orElse("?"),
                    n.handshake().toMillis());
        } else {
            out.printf("tls        failed at %s: %s: %s%n", r.failedAt().map(ProbeReport.Step::wireName).orElse("?"),
                    n.failure().map(f -> f.auditName()).orElse("?"), n.detail().orElse(""));
        }
        r.afterTls().ifPresent(c -> out.printf("ehlo       %s%s%n", q.mode() == TlsMode.STARTTLS ? "after TLS: " : "",
                capabilities(c, false)));
        if (!r.versions().isEmpty()) {
            out.println();
            out.println("versions (each offered on its own)");
            for (VersionProbeResult v : r.versions()) {
                out.printf("  %-8s %s%n", v.version().displayName(), versionLine(v));
            }
        }
        if (!r.chain().isEmpty()) {
            out.println();
            out.println("certificate chain (as sent by the server)");
            for (int i = 0; i < r.chain().size(); i++) {
                CertificateDetail c = r.chain().get(i);
                out.printf("  [%d] %s%n", i, c.facts().subject());
                out.printf("      issuer     %s%n", c.facts().issuer());
                if (!c.facts().subjectAltNames().isEmpty()) {
                    out.printf("      names      %s%n", String.join(", ", c.facts().subjectAltNames()));
                }
                out.printf("      valid      %s to %s (%s)%n", c.facts().notBefore(), c.facts().notAfter(),
                        c.daysLeft() >= 0 ? Verdicts.days(c.daysLeft()) + " left" : "EXPIRED " + Verdicts.days(-c.daysLeft()) + " ago");
                out.printf("      key        %s, signed with %s%n", c.keyDescription(), c.signatureAlgorithm());
                out.printf("      sha256     %s%n", c.facts().sha256());
                out.printf("      pin        sha256/%s%n", c.facts().spkiSha256());
            }
        }
        r.identity().ifPresent(id -> {
            out.println();
            out.printf("verification (verify %s)%n", id.mode().configName());
            out.printf("  chain      %s%n", checkLine(id.chainTrust()));
            out.printf("  host name  %s%n", checkLine(id.hostName()));
            out.printf("  pin        %s%n", checkLine(id.pin()));
        });
        out.println();
        out.println("verdicts");
        for (Finding f : r.findings()) {
            out.println("  " + f.line());
        }
        out.println();
        out.println(r.relayWouldSucceed()
                ? "result: the relay WILL work with " + q.target()
                : "result: the relay will NOT work with " + q.target());
        out.flush();
    }

    private static String capabilities(Capabilities c, boolean beforeTls) {
        List<String> auth = c.authMechanisms();
        StringBuilder sb = new StringBuilder();
        if (beforeTls) {
            sb.append("STARTTLS ").append(c.startTls() ? "yes" : "NO").append(", ");
        }
        sb.append("AUTH ").append(auth.isEmpty() ? "none" : String.join(" ", auth));
        sb.append(", SIZE ").append(c.sizeLimit().isPresent() ? String.valueOf(c.sizeLimit().getAsLong()) : "-");
        sb.append(", PIPELINING ").append(c.pipelining() ? "yes" : "no");
        sb.append(", SMTPUTF8 ").append(c.smtpUtf8() ? "yes" : "no");
        sb.append(", 8BITMIME ").append(c.eightBitMime() ? "yes" : "no");
        return sb.toString();
    }

    private static String versionLine(VersionProbeResult v) {
        return switch (v.answer()) {
            case ACCEPTED -> "accepted" + v.cipher().map(c -> ", " + c).orElse("")
                    + v.identity().flatMap(ServerIdentity::decidingFailure)
                            .map(f -> " (certificate refused: " + f.failure().orElseThrow().auditName() + ")")
                            .or(() -> v.detail().map(d -> " (" + d + ")")).orElse("");
            case REFUSED -> "refused" + v.detail().map(d -> " (" + d + ")").orElse("");
            case NO_ANSWER -> "no answer" + v.detail().map(d -> " (" + d + ")").orElse("");
        };
    }

    private static String checkLine(ServerIdentity.Check c) {
        return switch (c.status()) {
            case PASSED -> "ok: " + c.detail();
            case FAILED -> "FAILED (" + c.failure().orElseThrow().auditName() + "): " + c.detail();
            case NOT_APPLICABLE -> "-: " + c.detail();
        };
    }

    /** The report as one JSON object. */
    public static ObjectNode json(ProbeReport r) {
        ProbeRequest q = r.request();
        ObjectNode o = JSON.createObjectNode();
        o.put("host", q.host());
        o.put("port", q.port());
        o.put("security", q.mode().configName());
        o.put("security_reason", q.modeReason());
        o.put("at", r.at().toString());
        o.set("policy", policy(q.policy()));
        o.put("relay_would_succeed", r.relayWouldSucceed());
        o.put("exit_code", r.exitCode());
        r.failedAt().ifPresent(s -> o.put("failed_at", s.wireName()));
        putIfPresent(o, "connected_to", r.connectedTo());
        putIfPresent(o, "greeting", r.greeting());
        r.beforeTls().ifPresent(c -> o.set("ehlo_before_tls", capabilities(c)));
        putIfPresent(o, "starttls_reply", r.startTls());
        o.set("tls", negotiation(r.negotiation()));
        r.afterTls().ifPresent(c -> o.set("ehlo_after_tls", capabilities(c)));
        ArrayNode versions = o.putArray("versions");
        for (VersionProbeResult v : r.versions()) {
            ObjectNode vn = versions.addObject();
            vn.put("version", v.version().protocolName());
            vn.put("answer", v.answer().name().toLowerCase(Locale.ROOT));
            vn.put("accepted", v.accepted());
            putIfPresent(vn, "cipher", v.cipher());
            putIfPresent(vn, "detail", v.detail());
            vn.put("elapsed_ms", v.elapsed().toMillis());
        }
        ArrayNode chain = o.putArray("certificates");
        for (CertificateDetail c : r.chain()) {
            chain.add(certificate(c));
        }
        r.identity().ifPresent(id -> {
            ObjectNode v = o.putObject("verification");
            v.put("mode", id.mode().configName());
            v.put("accepted_by_relay", id.acceptedByRelay());
            v.set("chain", check(id.chainTrust()));
            v.set("hostname", check(id.hostName()));
            v.set("pin", check(id.pin()));
        });
        o.set("findings", findings(r.findings()));
        return o;
    }

    /** The text report of a mail domain: DNS, MTA-STS, TLS-RPT, each MX host in full, then the verdicts. */
    public static void text(DomainReport r, PrintWriter out) {
        out.printf("tlsrelay probe --domain %s%n", r.domain());
        out.printf("dns        %s%n", r.resolver());
        out.println();
        if (r.mxHosts().isEmpty()) {
            out.printf("mx         none (%s%s)%n", r.mxLookup(), r.mxError().map(e -> ": " + e).orElse(""));
            if (!r.addresses().isEmpty()) {
                out.printf("address    %s%n", String.join(", ", r.addresses()));
            }
        }
        for (DomainReport.MxHost h : r.mxHosts()) {
            out.printf("mx         %-3d %s  %s%s%n", h.preference(), h.host(),
                    h.address().orElse("no address: " + h.addressError().orElse("?")),
                    h.probe().map(p -> p.relayWouldSucceed() ? "  relay OK" : "  relay FAILS").orElse(""));
        }
        DomainReport.MtaSts s = r.mtaSts();
        out.printf("mta-sts    %s: %s%n", s.recordName(), s.records().isEmpty() ? "none" : String.join(" | ", s.records()));
        s.policyUri().ifPresent(u -> out.printf("policy     %s -> %s%n", u,
                s.httpStatus().map(c -> "HTTP " + c).orElse("no answer")));
        s.policy().ifPresent(p -> {
            out.printf("           version %s, mode %s, max_age %s%n", p.version(), p.mode(),
                    p.maxAge().isPresent() ? String.valueOf(p.maxAge().getAsLong()) : "-");
            p.mx().forEach(m -> out.printf("           mx: %s%n", m));
        });
        s.error().ifPresent(e -> out.printf("           %s%n", e));
        DomainReport.TlsRpt t = r.tlsRpt();
        out.printf("tls-rpt    %s: %s%n", t.recordName(), t.records().isEmpty() ? "none" : String.join(" | ", t.records()));
        for (DomainReport.MxHost h : r.mxHosts()) {
            if (h.probe().isPresent()) {
                out.println();
                out.println("------------------------------------------------------------------------------");
                text(h.probe().get(), out);
            }
        }
        out.println();
        out.println("verdicts for " + r.domain());
        for (Finding f : r.findings()) {
            out.println("  " + f.line());
        }
        out.println();
        out.println(r.exitCode() == 0
                ? "result: every MX host of " + r.domain() + " works with the relay's policy"
                : "result: " + r.domain() + " has problems (see FAIL above)");
        out.flush();
    }

    /** A mail domain as one JSON object; each MX host carries its full probe object. */
    public static ObjectNode json(DomainReport r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("domain", r.domain());
        o.put("at", r.at().toString());
        o.put("dns", r.resolver());
        o.put("exit_code", r.exitCode());
        ObjectNode mx = o.putObject("mx");
        mx.put("lookup", r.mxLookup());
        putIfPresent(mx, "error", r.mxError());
        ArrayNode addresses = mx.putArray("domain_addresses");
        r.addresses().forEach(addresses::add);
        ArrayNode hosts = mx.putArray("hosts");
        for (DomainReport.MxHost h : r.mxHosts()) {
            ObjectNode hn = hosts.addObject();
            hn.put("host", h.host());
            hn.put("preference", h.preference());
            putIfPresent(hn, "address", h.address());
            putIfPresent(hn, "address_error", h.addressError());
            hn.put("relay_would_succeed", h.relayWouldSucceed());
            h.policyCovered().ifPresent(c -> hn.put("mta_sts_covered", c));
            h.probe().ifPresent(p -> hn.set("probe", json(p)));
        }
        DomainReport.MtaSts s = r.mtaSts();
        ObjectNode sts = o.putObject("mta_sts");
        sts.put("record_name", s.recordName());
        ArrayNode records = sts.putArray("records");
        s.records().forEach(records::add);
        putIfPresent(sts, "id", s.id());
        putIfPresent(sts, "policy_url", s.policyUri());
        s.httpStatus().ifPresent(c -> sts.put("http_status", c));
        s.policy().ifPresent(p -> {
            ObjectNode pn = sts.putObject("policy");
            pn.put("version", p.version());
            pn.put("mode", p.mode());
            ArrayNode pmx = pn.putArray("mx");
            p.mx().forEach(pmx::add);
            if (p.maxAge().isPresent()) {
                pn.put("max_age", p.maxAge().getAsLong());
            } else {
                pn.putNull("max_age");
            }
            pn.put("valid", p.valid());
            ArrayNode problems = pn.putArray("problems");
            p.problems().forEach(problems::add);
        });
        putIfPresent(sts, "error", s.error());
        DomainReport.TlsRpt t = r.tlsRpt();
        ObjectNode rpt = o.putObject("tls_rpt");
        rpt.put("record_name", t.recordName());
        ArrayNode rptRecords = rpt.putArray("records");
        t.records().forEach(rptRecords::add);
        ArrayNode rua = rpt.putArray("rua");
        t.rua().forEach(rua::add);
        putIfPresent(rpt, "error", t.error());
        o.set("findings", findings(r.findings()));
        return o;
    }

    /** The text of a send-test: the probe of each smarthost, then the send and its replies. */
    public static void text(SendTest.Outcome o, java.nio.file.Path auditFile, PrintWriter out) {
        for (ProbeReport p : o.probes()) {
            if (p != o.probes().get(0)) {
                out.println();
                out.println("------------------------------------------------------------------------------");
            }
            text(p, out);
        }
        out.println();
        out.println("------------------------------------------------------------------------------");
        out.printf("send-test  session %s, audit %s%n", o.sessionId(), auditFile);
        o.negotiation().ifPresent(n -> out.printf("tls        %s:%d %s%n", n.peerHost(), n.peerPort(), n.ok()
                ? n.protocol().orElse("?") + ", " + n.cipher().orElse("?") + ", handshake " + n.handshake().toMillis()
                        + " ms, certificate sha256 " + n.leaf().map(c -> c.sha256()).orElse("?")
                : "failed: " + n.failure().map(f -> f.auditName()).orElse("?") + ": " + n.detail().orElse("")));
        for (SendTest.Step step : o.dialogue()) {
            out.printf("%-10s %s%n", step.command().split("[: ]")[0].toLowerCase(Locale.ROOT), step.command());
            out.printf("           -> %s%n", step.reply().line());
        }
        out.println();
        out.println(o.delivered()
                ? "result: the upstream ACCEPTED the test message: " + o.lastReply().map(r -> r.line()).orElse("")
                : "result: the test message was NOT accepted: " + o.lastReply().map(r -> r.line()).orElse("no reply"));
        out.flush();
    }

    /** A send-test as one JSON object: the probe of each smarthost, the negotiation of the send, each reply. */
    public static ObjectNode json(SendTest.Outcome o, java.nio.file.Path auditFile) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode probes = root.putArray("probes");
        o.probes().forEach(p -> probes.add(json(p)));
        ObjectNode send = root.putObject("send");
        send.put("session", o.sessionId());
        o.negotiation().ifPresent(n -> {
            send.put("host", n.peerHost());
            send.put("port", n.peerPort());
        });
        send.put("audit_file", auditFile.toString());
        o.negotiation().ifPresent(n -> send.set("tls", negotiation(n)));
        ArrayNode steps = send.putArray("dialogue");
        for (SendTest.Step step : o.dialogue()) {
            ObjectNode sn = steps.addObject();
            sn.put("command", step.command());
            sn.put("reply_code", step.reply().code());
            sn.put("reply", step.reply().line());
        }
        send.put("delivered", o.delivered());
        root.put("exit_code", o.delivered() ? 0 : 1);
        return root;
    }

    static ObjectNode policy(TlsPolicy p) {
        ObjectNode o = JSON.createObjectNode();
        o.put("min_version", p.minVersion().protocolName());
        o.put("verify", p.verify().configName());
        o.put("trust", p.trust().describe());
        ArrayNode pins = o.putArray("pins");
        p.pins().forEach(pin -> pins.add(pin.toString()));
        ArrayNode suites = o.putArray("cipher_suites");
        p.cipherSuites().forEach(suites::add);
        o.put("timeout_ms", p.handshakeTimeout().toMillis());
        return o;
    }

    static ObjectNode negotiation(TlsNegotiation n) {
        ObjectNode o = JSON.createObjectNode();
        o.put("outcome", n.ok() ? "ok" : "failed");
        n.failure().ifPresent(f -> o.put("failure", f.auditName()));
        putIfPresent(o, "detail", n.detail());
        putIfPresent(o, "protocol", n.protocol());
        putIfPresent(o, "cipher", n.cipher());
        n.leaf().ifPresent(c -> {
            o.put("cert_sha256", c.sha256());
            o.put("spki_sha256", c.spkiSha256());
        });
        o.put("handshake_ms", n.handshake().toMillis());
        return o;
    }

    private static ObjectNode capabilities(Capabilities c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("starttls", c.startTls());
        ArrayNode auth = o.putArray("auth");
        c.authMechanisms().forEach(auth::add);
        if (c.sizeLimit().isPresent()) {
            o.put("size", c.sizeLimit().getAsLong());
        } else {
            o.putNull("size");
        }
        o.put("pipelining", c.pipelining());
        o.put("smtputf8", c.smtpUtf8());
        o.put("8bitmime", c.eightBitMime());
        ArrayNode ext = o.putArray("extensions");
        c.extensions().forEach(ext::add);
        return o;
    }

    static ObjectNode certificate(CertificateDetail c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("subject", c.facts().subject());
        o.put("issuer", c.facts().issuer());
        ArrayNode san = o.putArray("san");
        c.facts().subjectAltNames().forEach(san::add);
        o.put("serial", c.facts().serial());
        o.put("not_before", c.facts().notBefore().toString());
        o.put("not_after", c.facts().notAfter().toString());
        o.put("days_left", c.daysLeft());
        o.put("key_type", c.keyType());
        o.put("key_bits", c.keyBits());
        o.put("signature_algorithm", c.signatureAlgorithm());
        o.put("sha256", c.facts().sha256());
        o.put("spki_sha256", c.facts().spkiSha256());
        return o;
    }

    private static ObjectNode check(ServerIdentity.Check c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("status", c.status().name().toLowerCase(Locale.ROOT));
        c.failure().ifPresent(f -> o.put("failure", f.auditName()));
        o.put("detail", c.detail());
        return o;
    }

    static ArrayNode findings(List<Finding> findings) {
        ArrayNode a = JSON.createArrayNode();
        for (Finding f : findings) {
            ObjectNode o = a.addObject();
            o.put("severity", f.severity().name());
            o.put("code", f.code());
            o.put("message", f.message());
            if (f.fix().isPresent()) {
                o.put("fix", f.fix().get());
            } else {
                o.putNull("fix");
            }
        }
        return a;
    }

    static void putIfPresent(ObjectNode o, String field, Optional<String> value) {
        value.ifPresent(v -> o.put(field, v));
    }
}
