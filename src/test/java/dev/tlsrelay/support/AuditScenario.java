package dev.tlsrelay.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.audit.AuditFiles;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A real audit log with a bit of everything, built once per test JVM by relaying real messages
 * through real relays (restarted six times, each run against a different upstream) into one rotated
 * audit file: verified deliveries over STARTTLS and implicit TLS from several client addresses, a
 * wrong-host certificate, an expired certificate, a closed port, and a message too big.
 */
public final class AuditScenario {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static AuditScenario built;

    /** The active audit file; rotated files sit next to it. */
    public final Path auditFile;
    /** Where the long-lived and the soon-expiring upstream certificates' SHA-256 show up. */
    public final HeldCertificate longLived;
    public final HeldCertificate expiringSoon;
    public final HeldCertificate expired;

    private AuditScenario(Path auditFile, HeldCertificate longLived, HeldCertificate expiringSoon,
            HeldCertificate expired) {
        this.auditFile = auditFile;
        this.longLived = longLived;
        this.expiringSoon = expiringSoon;
        this.expired = expired;
    }

    /** The scenario's log, built on first use (a few seconds) under {@code target/}. */
    public static synchronized AuditScenario get() throws Exception {
        if (built == null) {
            built = build(Files.createTempDirectory(Path.of("target").toAbsolutePath(), "audit-scenario-"));
        }
        return built;
    }

    /** Every piece of the log, oldest first. */
    public List<Path> files() throws IOException {
        return AuditFiles.discover(auditFile);
    }

    /** Every line of every file, parsed: what tests count against, independently of the audit package. */
    public List<JsonNode> lines() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (Path f : files()) {
            for (String l : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                out.add(JSON.readTree(l));
            }
        }
        return out;
    }

    private static AuditScenario build(Path dir) throws Exception {
        TestPki pki = new TestPki();
        Instant now = Instant.now();
        HeldCertificate longLived = new CertificateMinter().names("localhost", "127.0.0.1").signedBy(pki.ca)
                .validity(now.minus(Duration.ofDays(10)), now.plus(Duration.ofDays(200))).mint();
        HeldCertificate soon = new CertificateMinter().commonName("soon.localhost").names("127.0.0.1")
                .signedBy(pki.ca).validity(now.minus(Duration.ofDays(60)), now.plus(Duration.ofDays(12))).mint();
        HeldCertificate expired = pki.expired();
        Path ca = pki.writeCa(dir);
        Path audit = dir.resolve("logs/tlsrelay-audit.jsonl");
        Map<String, String> base = new HashMap<>(Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.tls.ca-file", ca.toString(),
                "audit.file", audit.toString(),
                "audit.rotate.max-size", "4KiB",
                // A connection (and so a tls.handshake line) per transaction, as the counts expect.
                "upstream.pool.max-messages-per-connection", "1"));

        // 1. A good smarthost over STARTTLS: three messages from 127.0.0.1, two from 127.0.0.2.
        try (Catcher good = Catchers.start(dir.resolve("caught-a"), TlsMode.STARTTLS, longLived)) {
            try (RelayFixture relay = relay(dir, base, good.port(), "starttls", Map.of())) {
                for (int i = 1; i <= 3; i++) {
                    LegacyClient.send(relay.port(), "printer@office.test", LegacyClient.sampleMessage("scan " + i),
                            "admin@office.test");
                }
                for (int i = 1; i <= 2; i++) {
                    send(relay.port(), "127.0.0.2", "scanner@office.test", "archive@office.test", 200);
                }
                awaitMessages(relay, 5);
            }
            // 6. The same smarthost, but a message above listen.max-message-size: refused with 552.
            try (RelayFixture relay = relay(dir, base, good.port(), "starttls",
                    Map.of("listen.max-message-size", "1KiB"))) {
                send(relay.port(), "127.0.0.4", "camera@office.test", "admin@office.test", 4000);
                awaitMessages(relay, 6);
            }
        }
        // 2. Implicit TLS to a smarthost whose certificate expires in 12 days: one message.
        try (Catcher implicit = Catchers.start(dir.resolve("caught-b"), TlsMode.IMPLICIT, soon);
                RelayFixture relay = relay(dir, base, implicit.port(), "implicit", Map.of())) {
            send(relay.port(), "127.0.0.1", "printer@office.test", "admin@office.test", 200);
            awaitMessages(relay, 7);
        }
        // 3. A certificate for another host name: two attempts from 127.0.0.3, both deferred.
        try (Catcher wrong = Catchers.start(dir.resolve("caught-c"), TlsMode.STARTTLS, pki.wrongHost());
                RelayFixture relay = relay(dir, base, wrong.port(), "starttls", Map.of())) {
            send(relay.port(), "127.0.0.3", "ups@office.test", "admin@office.test", 200);
            send(relay.port(), "127.0.0.3", "ups@office.test", "admin@office.test", 200);
            awaitMessages(relay, 9);
        }
        // 4. An expired certificate: one attempt from 127.0.0.2.
        try (Catcher old = Catchers.start(dir.resolve("caught-d"), TlsMode.STARTTLS, expired);
                RelayFixture relay = relay(dir, base, old.port(), "starttls", Map.of())) {
            send(relay.port(), "127.0.0.2", "scanner@office.test", "archive@office.test", 200);
            awaitMessages(relay, 10);
        }
        // 5. Nobody listening: one attempt from 127.0.0.1.
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closedPort = s.getLocalPort();
        }
        try (RelayFixture relay = relay(dir, base, closedPort, "starttls", Map.of())) {
            send(relay.port(), "127.0.0.1", "printer@office.test", "admin@office.test", 200);
            awaitMessages(relay, 11);
        }
        return new AuditScenario(audit, longLived, soon, expired);
    }

    private static RelayFixture relay(Path dir, Map<String, String> base, int port, String security,
            Map<String, String> extra) throws Exception {
        Map<String, String> settings = new HashMap<>(base);
        settings.put("upstream.port", String.valueOf(port));
        settings.put("upstream.security", security);
        settings.putAll(extra);
        return RelayFixture.start(dir, settings);
    }

    /** One transaction from a chosen loopback address, as a device would send it; returns the final reply. */
    public static String send(int port, String from, String sender, String rcpt, int bodySize) throws IOException {
        try (RawSmtp c = RawSmtp.connect(port, InetAddress.getByName(from))) {
            c.reply();
            c.command("EHLO device.lan");
            String mail = c.command("MAIL FROM:<" + sender + ">");
            if (!mail.startsWith("250")) {
                c.command("QUIT");
                return mail;
            }
            String rcptReply = c.command("RCPT TO:<" + rcpt + ">");
            if (!rcptReply.startsWith("250")) {
                c.command("QUIT");
                return rcptReply;
            }
            c.command("DATA");
            c.sendRaw(("Subject: from " + from + "\r\n\r\n" + "x".repeat(bodySize) + "\r\n.\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String reply = c.reply();
            c.command("QUIT");
            return reply;
        }
    }

    /**
     * Message lines are written when the client's transaction ends: wait until the log (every file of
     * it) holds {@code count} of them before stopping a relay.
     */
    public static void awaitMessages(RelayFixture relay, int count) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            long n = relay.audit().stream().filter(j -> j.path("event").asText().startsWith("message.")).count();
            if (n >= count) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("fewer than " + count + " message lines in the audit within 10 s");
    }
}
