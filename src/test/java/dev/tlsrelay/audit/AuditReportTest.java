package dev.tlsrelay.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.support.AuditScenario;
import dev.tlsrelay.support.Chromium;
import dev.tlsrelay.support.TlsRelayProcess;
import dev.tlsrelay.tls.CertificateFacts;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsNegotiation;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML report in a real browser: headless Chromium loads the page from disk, a screenshot is
 * kept under {@code target/}, and the browser's console must stay silent.
 */
@Timeout(300)
class AuditReportTest {

    private static final Path TARGET = Path.of("target").toAbsolutePath();

    @TempDir
    Path dir;

    @Test
    void reportOfARealLogRendersInChromiumWithoutConsoleErrors() throws Exception {
        AuditScenario sc = AuditScenario.get();
        Path html = TARGET.resolve("audit-report.html");
        List<String> args = new ArrayList<>(List.of("audit", "report", "--html", html.toString()));
        sc.files().forEach(f -> args.add(f.toString()));
        try (TlsRelayProcess report = TlsRelayProcess.start(dir, args.toArray(String[]::new))) {
            assertEquals(0, report.waitFor(Duration.ofSeconds(60)), report.output());
            assertTrue(report.output().contains("report written to " + html + " (chain intact"), report.output());
        }
        String page = Files.readString(html, StandardCharsets.UTF_8);
        assertSelfContained(page);

        Path png = TARGET.resolve("audit-report.png");
        Files.deleteIfExists(png);
        Chromium.Run shot = Chromium.screenshot(html, png, 1280, 2000);
        assertTrue(shot.consoleMessages().isEmpty(), "console: " + shot.consoleMessages());
        assertTrue(Files.size(png) > 10_000, "screenshot missing or blank: " + shot.stderr());
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(1280, image.getWidth());
        // The charts are drawn: bars in the ok, failed and deferred colours are on screen.
        assertTrue(pixels(image, HtmlReport.OK) > 500, "no ok-green bars on the screenshot");
        assertTrue(pixels(image, HtmlReport.FAILED) > 200, "no failed-red bars on the screenshot");
        assertTrue(pixels(image, HtmlReport.DEFERRED) > 100, "no deferred-orange bars on the screenshot");

        Chromium.Run dom = Chromium.dumpDom(html);
        assertTrue(dom.consoleMessages().isEmpty(), "console: " + dom.consoleMessages());
        String rendered = dom.stdout();
        for (String id : List.of("chain", "tls-verdict", "figures", "handshakes", "protocols", "failures", "clients",
                "certificates")) {
            assertTrue(rendered.contains("id=\"" + id + "\""), "section " + id + " missing from the rendered page");
        }
        assertTrue(rendered.contains("Hash chain intact"));
        assertTrue(rendered.contains("0 message(s) relayed without verified TLS 1.2+"));
        assertEquals(5, count(rendered, "<svg "), "five charts");
        assertTrue(rendered.contains("hostname_mismatch") && rendered.contains("127.0.0.3")
                && rendered.contains("CN=soon.localhost"));
    }

    @Test
    void aPageWithAScriptErrorIsCaughtSoASilentConsoleMeansSomething() throws Exception {
        Path bad = dir.resolve("bad.html");
        Files.writeString(bad, "<!DOCTYPE html><html><body><p>x</p><script>notDefined();</script></body></html>");

        Chromium.Run run = Chromium.dumpDom(bad);

        assertTrue(run.consoleMessages().stream().anyMatch(l -> l.contains("Uncaught ReferenceError")),
                "the console check does not see errors: " + run.stderr());
    }

    @Test
    void threeDaysOfHistoryRenderHourByHourWithTheCertificateTimeline() throws Exception {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        Instant start = now.minus(Duration.ofHours(72)).truncatedTo(ChronoUnit.HOURS);
        Path audit = dir.resolve("history.jsonl");
        writeHistory(audit, start, now);
        List<Path> files = AuditFiles.discover(audit);
        Verification v = ChainVerifier.verify(files, Optional.empty());
        Summary s = AuditSummary.summarize(files, TimeWindow.ALL, now);
        assertEquals(Summary.BucketSize.HOUR, s.bucketSize());

        Path html = TARGET.resolve("audit-report-history.html");
        Files.writeString(html, HtmlReport.render(s, v, files), StandardCharsets.UTF_8);
        assertSelfContained(Files.readString(html));
        Path png = TARGET.resolve("audit-report-history.png");
        Chromium.Run shot = Chromium.screenshot(html, png, 1280, 2000);

        assertTrue(shot.consoleMessages().isEmpty(), "console: " + shot.consoleMessages());
        BufferedImage image = ImageIO.read(png.toFile());
        assertTrue(pixels(image, HtmlReport.OK) > 2000);
        assertTrue(pixels(image, "#1565c0") > 1000, "TLSv1.3 bars");
        assertTrue(pixels(image, "#64b5f6") > 200, "TLSv1.2 bars");
        String rendered = Chromium.dumpDom(html).stdout();
        assertTrue(count(rendered, "<rect ") > 150, "hourly bars for three days");
        assertTrue(rendered.contains("(expired)") && rendered.contains("CN=mail.legacy.test"));
    }

    // ---- helpers -----------------------------------------------------------------------------

    /** No script, no external anything: the page must render the same offline, years from now. */
    private static void assertSelfContained(String page) {
        for (String forbidden : List.of("<script", "<link", "<img", "<iframe", "<object", "<embed", "src=",
                "url(", "@import", "http:", "https:", "//")) {
            assertFalse(page.contains(forbidden), "the report must be self-contained, but contains " + forbidden);
        }
    }

    /** Pixels within a small distance of {@code hex}. */
    private static long pixels(BufferedImage image, String hex) {
        int want = Integer.parseInt(hex.substring(1), 16);
        long n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                if (Math.abs(((rgb >> 16) & 255) - ((want >> 16) & 255)) <= 8
                        && Math.abs(((rgb >> 8) & 255) - ((want >> 8) & 255)) <= 8
                        && Math.abs((rgb & 255) - (want & 255)) <= 8) {
                    n++;
                }
            }
        }
        return n;
    }

    private static int count(String s, String needle) {
        Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(s);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /**
     * Three days of a small office through the real audit writer: two smarthosts (one still on TLS
     * 1.2), busy working hours, a few failures, one certificate expired and one expiring soon.
     */
    private static void writeHistory(Path audit, Instant start, Instant now) throws Exception {
        CertificateFacts main = cert("CN=smtp.office365.test", now.minus(Duration.ofDays(100)),
                now.plus(Duration.ofDays(200)));
        CertificateFacts legacy = cert("CN=mail.legacy.test", now.minus(Duration.ofDays(350)),
                now.plus(Duration.ofDays(12)));
        CertificateFacts expired = cert("CN=old.backup.test", now.minus(Duration.ofDays(400)),
                now.minus(Duration.ofDays(5)));
        Random random = new Random(8);
        AuditLog.Options options = new AuditLog.Options(Rotation.NEVER, Optional.empty(), Optional.empty(),
                Clock.fixed(start, ZoneOffset.UTC));
        try (AuditLog log = AuditLog.open(audit, options)) {
            int session = 0;
            for (Instant hour = start; hour.isBefore(now); hour = hour.plus(Duration.ofHours(1))) {
                int h = hour.atZone(ZoneOffset.UTC).getHour();
                int volume = h >= 7 && h <= 18 ? 6 + random.nextInt(10) : random.nextInt(3);
                for (int i = 0; i < volume; i++) {
                    Instant at = hour.plusSeconds(random.nextInt(3600));
                    if (at.isAfter(now)) {
                        continue;
                    }
                    String id = "S" + session++;
                    String client = "10.0.0." + (1 + Math.min(7, (int) Math.abs(random.nextGaussian() * 3)));
                    boolean useLegacy = random.nextInt(5) == 0;
                    int roll = random.nextInt(40);
                    TlsNegotiation n;
                    if (roll == 0) {
                        n = failed(at, "old.backup.test", FailureCode.CERT_EXPIRED, Optional.of(expired));
                    } else if (roll == 1) {
                        n = failed(at, "smtp.office365.test", FailureCode.TIMEOUT, Optional.empty());
                    } else if (roll == 2) {
                        n = failed(at, "mail.legacy.test", FailureCode.HOSTNAME_MISMATCH, Optional.of(legacy));
                    } else {
                        n = new TlsNegotiation(TlsNegotiation.Direction.UPSTREAM,
                                useLegacy ? "mail.legacy.test" : "smtp.office365.test", 587, TlsMode.STARTTLS, at,
                                Duration.ofMillis(30 + random.nextInt(200)), TlsNegotiation.Outcome.OK, Optional.empty(),
                                Optional.empty(), Optional.of(useLegacy ? "TLSv1.2" : "TLSv1.3"),
                                Optional.of(useLegacy ? "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" : "TLS_AES_256_GCM_SHA384"),
                                Optional.of(useLegacy ? legacy : main));
                    }
                    log.write(new AuditEvent.Handshake(id, n));
                    boolean ok = n.ok();
                    int code = ok ? (random.nextInt(30) == 0 ? 550 : 250) : 451;
                    log.write(new AuditEvent.Message(at.plusMillis(400), id, client, "scanner@office.test",
                            List.of("archive@office.test"), code == 250 ? 1 : 0, 20_000 + random.nextInt(90_000),
                            code == 250, OptionalInt.of(code), ok ? Optional.of(code + " 2.0.0 queued") : Optional.empty(),
                            n.failure().map(FailureCode::auditName), code == 250 ? Optional.empty()
                                    : Optional.of("not relayed")));
                }
            }
        }
    }

    private static TlsNegotiation failed(Instant at, String host, FailureCode code, Optional<CertificateFacts> cert) {
        return new TlsNegotiation(TlsNegotiation.Direction.UPSTREAM, host, 587, TlsMode.STARTTLS, at,
                Duration.ofMillis(50), TlsNegotiation.Outcome.FAILED, Optional.of(code), Optional.of("synthetic"),
                Optional.empty(), Optional.empty(), cert);
    }

    private static CertificateFacts cert(String subject, Instant from, Instant until) {
        String fp = Integer.toHexString(subject.hashCode()).repeat(8).substring(0, 64);
        return new CertificateFacts(subject, "CN=Test Issuing CA", List.of("DNS:" + subject.substring(3)), "01",
                from, until, fp, "AAAA");
    }
}
