package dev.tlsrelay.audit;

import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The audit as one self-contained HTML page: styles inline, charts as inline SVG, no script, no
 * font, no image, no link to anything, so it can be mailed to an auditor or archived and still
 * render the same, offline, years later.
 */
public final class HtmlReport {

    static final String OK = "#2e7d32";
    static final String FAILED = "#c62828";
    static final String DEFERRED = "#ef6c00";
    private static final String[] PROTOCOL_COLORS = {"#1565c0", "#64b5f6", "#8e24aa", "#9e9e9e", "#795548"};
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC);
    private static final int TOP_CLIENTS = 10;

    private HtmlReport() {}

    /** The page for {@code summary}, headed by the verdict on the chain of {@code files}. */
    public static String render(Summary s, Verification v, List<Path> files) {
        StringBuilder o = new StringBuilder(64 * 1024);
        o.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>tlsrelay audit report</title>\n<style>\n").append(CSS).append("</style>\n</head>\n")
                .append("<body>\n<main>\n");
        o.append("<h1>tlsrelay audit report</h1>\n<p class=\"meta\">").append(Html.escape(s.window().describe()));
        s.firstEvent().ifPresent(f -> o.append(" &middot; events ")
                .append(Html.escape(f.truncatedTo(ChronoUnit.SECONDS).toString())).append(" to ")
                .append(Html.escape(s.lastEvent().orElseThrow().truncatedTo(ChronoUnit.SECONDS).toString())));
        o.append(" &middot; generated ").append(Html.escape(s.generatedAt().truncatedTo(ChronoUnit.SECONDS).toString()))
                .append(" &middot; ").append(files.size()).append(" file(s): ")
                .append(Html.escape(String.join(", ", files.stream().map(f -> f.getFileName().toString()).toList())))
                .append("</p>\n");

        chain(o, v);
        verdict(o, s);
        figures(o, s);

        List<Instant> buckets = timeAxis(s);
        boolean daily = s.bucketSize() == Summary.BucketSize.DAY;
        section(o, "handshakes", "Handshakes per " + (daily ? "day" : "hour") + " by outcome");
        if (buckets.isEmpty()) {
            empty(o, "No TLS handshakes in this period.");
        } else {
            long[] ok = new long[buckets.size()];
            long[] failed = new long[buckets.size()];
            for (int i = 0; i < buckets.size(); i++) {
                Summary.Bucket b = s.buckets().get(buckets.get(i));
                ok[i] = b == null ? 0 : b.ok();
                failed[i] = b == null ? 0 : b.failed();
            }
            o.append(Svg.timeBars("Handshakes per " + (daily ? "day" : "hour") + " by outcome", buckets, daily,
                    List.of(new Svg.Series("ok", OK, ok), new Svg.Series("failed", FAILED, failed))));
        }
        o.append("</section>\n");

        section(o, "protocols", "TLS versions over time (successful handshakes)");
        if (s.handshakesByProtocol().isEmpty()) {
            empty(o, "No successful TLS handshakes in this period.");
        } else {
            List<Svg.Series> series = new ArrayList<>();
            List<String> protocols = new ArrayList<>(s.handshakesByProtocol().keySet());
            protocols.sort(java.util.Comparator.reverseOrder()); // TLSv1.3 first
            for (int p = 0; p < protocols.size(); p++) {
                long[] values = new long[buckets.size()];
                for (int i = 0; i < buckets.size(); i++) {
                    Summary.Bucket b = s.buckets().get(buckets.get(i));
                    values[i] = b == null ? 0 : b.protocols().getOrDefault(protocols.get(p), 0L);
                }
                series.add(new Svg.Series(protocols.get(p), PROTOCOL_COLORS[Math.min(p, PROTOCOL_COLORS.length - 1)],
                        values));
            }
            o.append(Svg.timeBars("TLS versions over time", buckets, daily, series));
        }
        o.append("</section>\n");

        o.append("<div class=\"pair\">\n");
        section(o, "failures", "Failures by code");
        if (s.failuresByCode().isEmpty()) {
            empty(o, "No failed handshakes in this period.");
        } else {
            List<Svg.Row> rows = s.failuresByCode().entrySet().stream().map(e -> new Svg.Row(e.getKey(),
                    List.of(new Svg.Segment("failures", FAILED, e.getValue())))).toList();
            o.append(Svg.rows("Failures by code", rows, List.of()));
            table(o, "peer (host:port)", "failures", s.failuresByPeer());
        }
        o.append("</section>\n");
        section(o, "clients", "Top clients by messages");
        if (s.messagesByClient().isEmpty()) {
            empty(o, "No messages in this period.");
        } else {
            List<Svg.Row> rows = s.messagesByClient().entrySet().stream().limit(TOP_CLIENTS)
                    .map(e -> new Svg.Row(e.getKey(), List.of(
                            new Svg.Segment("relayed", OK, e.getValue().relayed()),
                            new Svg.Segment("deferred", DEFERRED, e.getValue().deferred()),
                            new Svg.Segment("failed", FAILED, e.getValue().failed())))).toList();
            o.append(Svg.rows("Top clients by messages", rows, List.of(new Svg.Segment("relayed", OK, 0),
                    new Svg.Segment("deferred", DEFERRED, 0), new Svg.Segment("failed", FAILED, 0))));
        }
        o.append("</section>\n</div>\n");

        certificates(o, s);
        o.append("<footer>Every figure comes from the audit lines in the files listed above. The chain check and the"
                + " TLS verdict are defined in the tlsrelay README, section \"Reviewing the audit\".</footer>\n");
        o.append("</main>\n</body>\n</html>\n");
        return o.toString();
    }

    private static void chain(StringBuilder o, Verification v) {
        o.append("<section id=\"chain\" class=\"banner ").append(v.intact() ? "good" : "bad").append("\">\n<h2>")
                .append(v.intact() ? "Hash chain intact" : "Hash chain BROKEN").append("</h2>\n<p>")
                .append(Html.escape(v.verdict())).append("</p>\n");
        if (!v.notes().isEmpty()) {
            o.append("<ul>");
            v.notes().forEach(n -> o.append("<li>").append(Html.escape(n.toString())).append("</li>"));
            o.append("</ul>\n");
        }
        o.append("</section>\n");
    }

    private static void verdict(StringBuilder o, Summary s) {
        o.append("<section id=\"tls-verdict\" class=\"banner ").append(s.relayedWithoutTls() == 0 ? "good" : "bad")
                .append("\">\n<h2>").append(s.relayedWithoutTls()).append(" message(s) relayed without verified TLS 1.2+")
                .append("</h2>\n<p>").append(Html.escape(SummaryText.tlsVerdict(s))).append("</p>\n");
        if (!s.withoutTls().isEmpty()) {
            o.append("<ul>");
            s.withoutTls().forEach(u -> o.append("<li>").append(Html.escape(u.ts() + " session " + u.session() + " ("
                    + u.file().getFileName() + ":" + u.line() + "): " + u.why())).append("</li>"));
            o.append("</ul>\n");
        }
        o.append("</section>\n");
    }

    private static void figures(StringBuilder o, Summary s) {
        o.append("<section id=\"figures\" class=\"figures\">\n");
        figure(o, "Handshakes", s.handshakes(), "ok " + s.handshakesByOutcome().getOrDefault("ok", 0L)
                + " &middot; failed " + s.handshakesByOutcome().getOrDefault("failed", 0L));
        figure(o, "Messages relayed", s.messageCount(MessageFate.RELAYED), "deferred "
                + s.messageCount(MessageFate.DEFERRED) + " &middot; failed " + s.messageCount(MessageFate.FAILED));
        figure(o, "Upstream certificates", s.certificates().size(), s.expiringCertificates().size()
                + " expiring within " + Summary.EXPIRY_WARNING_DAYS + " days");
        figure(o, "Relay starts", s.starts(), s.uncleanStarts() + " without a clean stop before");
        o.append("</section>\n");
    }

    private static void figure(StringBuilder o, String label, long value, String detailHtml) {
        o.append("<div class=\"figure\"><div class=\"label\">").append(Html.escape(label))
                .append("</div><div class=\"value\">").append(value).append("</div><div class=\"detail\">")
                .append(detailHtml).append("</div></div>\n");
    }

    private static void certificates(StringBuilder o, Summary s) {
        section(o, "certificates", "Upstream certificate expiry");
        if (s.certificates().isEmpty()) {
            empty(o, "No upstream certificates seen in this period.");
            o.append("</section>\n");
            return;
        }
        List<Svg.Span> spans = new ArrayList<>();
        for (Summary.CertificateSeen c : s.certificates()) {
            String color = c.daysLeft() < 0 ? FAILED : c.expiringSoon() ? DEFERRED : OK;
            String detail = "until " + DAY.format(c.notAfter()) + (c.daysLeft() < 0 ? " (expired)"
                    : " (" + c.daysLeft() + " days)");
            spans.add(new Svg.Span(c.subject(), detail, c.notBefore().orElse(c.firstSeen()), c.notAfter(), color));
        }
        o.append(Svg.timeline("Upstream certificate validity", spans, s.generatedAt(), Summary.EXPIRY_WARNING_DAYS));
        o.append("<table><thead><tr><th>subject</th><th>issuer</th><th>valid until</th><th>peers</th>"
                + "<th>verified</th><th>refused</th><th>SHA-256</th></tr></thead><tbody>\n");
        for (Summary.CertificateSeen c : s.certificates()) {
            o.append("<tr").append(c.expiringSoon() ? " class=\"warn\"" : "").append("><td>")
                    .append(Html.escape(c.subject())).append("</td><td>").append(Html.escape(c.issuer()))
                    .append("</td><td>").append(Html.escape(c.notAfter().toString()))
                    .append(c.expiringSoon() ? (c.daysLeft() < 0 ? " <b>EXPIRED</b>" : " <b>expiring soon</b>") : "")
                    .append("</td><td>").append(Html.escape(String.join(" ", c.peers()))).append("</td><td>")
                    .append(c.verified()).append("</td><td>").append(c.refused()).append("</td><td class=\"mono\">")
                    .append(Html.escape(c.sha256().substring(0, Math.min(16, c.sha256().length())))).append("&hellip;")
                    .append("</td></tr>\n");
        }
        o.append("</tbody></table>\n</section>\n");
    }

    /** Every bucket from the first to the last, empty ones included, so the time axis is linear. */
    private static List<Instant> timeAxis(Summary s) {
        if (s.buckets().isEmpty()) {
            return List.of();
        }
        ChronoUnit unit = s.bucketSize() == Summary.BucketSize.DAY ? ChronoUnit.DAYS : ChronoUnit.HOURS;
        Set<Instant> axis = new LinkedHashSet<>();
        for (Instant t = s.buckets().firstKey(); !t.isAfter(s.buckets().lastKey()); t = t.plus(1, unit)) {
            axis.add(t);
        }
        return List.copyOf(axis);
    }

    private static void section(StringBuilder o, String id, String title) {
        o.append("<section id=\"").append(id).append("\" class=\"chart\">\n<h2>").append(Html.escape(title))
                .append("</h2>\n");
    }

    private static void empty(StringBuilder o, String text) {
        o.append("<p class=\"empty\">").append(Html.escape(text)).append("</p>\n");
    }

    private static void table(StringBuilder o, String keyHeading, String valueHeading, Map<String, Long> rows) {
        o.append("<table><thead><tr><th>").append(Html.escape(keyHeading)).append("</th><th>")
                .append(Html.escape(valueHeading)).append("</th></tr></thead><tbody>");
        rows.forEach((k, n) -> o.append("<tr><td>").append(Html.escape(k)).append("</td><td>").append(n)
                .append("</td></tr>"));
        o.append("</tbody></table>\n");
    }

    private static final String CSS = """
            body { margin: 0; background: #f4f5f7; color: #222;
                   font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; font-size: 14px; }
            main { max-width: 1200px; margin: 0 auto; padding: 16px 20px 32px; }
            h1 { font-size: 24px; margin: 8px 0 4px; }
            h2 { font-size: 16px; margin: 0 0 10px; }
            .meta { color: #555; margin: 0 0 16px; }
            section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 14px 16px;
                      margin: 0 0 14px; }
            .banner.good { border-left: 6px solid #2e7d32; }
            .banner.bad { border-left: 6px solid #c62828; background: #fdecea; }
            .banner p { margin: 0; }
            .banner ul { margin: 8px 0 0; padding-left: 20px; color: #444; }
            .figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; background: none;
                       border: none; padding: 0; }
            .figure { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px 14px; }
            .figure .label { color: #555; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
            .figure .value { font-size: 28px; font-weight: 600; margin: 2px 0; }
            .figure .detail { color: #555; font-size: 12px; }
            .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
            .pair section { margin: 0 0 14px; }
            svg { display: block; max-width: 100%; height: auto; }
            table { border-collapse: collapse; width: 100%; margin-top: 10px; font-size: 13px; }
            th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceef1; }
            th { color: #555; font-weight: 600; }
            tr.warn td { background: #fff3e0; }
            .mono { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; }
            .empty { color: #777; font-style: italic; }
            footer { color: #777; font-size: 12px; margin-top: 8px; }
            """;
}
