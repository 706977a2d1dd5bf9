package dev.tlsrelay.demo;

import dev.tlsrelay.Relay;
import dev.tlsrelay.audit.AuditEvent;
import dev.tlsrelay.catcher.CaughtMessage;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.config.ConfigException;
import dev.tlsrelay.config.ConfigLoader;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsNegotiation;
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.subethamail.smtp.client.SmartClient;

/**
 * A relay and a local TLS catcher in one process, so a newcomer sees the relay do its job on any
 * machine: a throwaway CA is minted, the catcher serves a certificate from it over STARTTLS, and the
 * relay verifies that certificate fully, exactly as it would a provider's.
 */
public final class Demo implements AutoCloseable {

    /** Addresses of the demo's own messages (RFC 2606 test names: never routable). */
    public static final String FROM = "printer@office.test";
    public static final String TO = "you@office.test";

    private final Path dir;
    private final HeldCertificate serverCert;
    private final Catcher catcher;
    private final Relay relay;
    private final PrintStream out;
    private final Map<String, TlsNegotiation> handshakes = new ConcurrentHashMap<>();

    private Demo(Path dir, HeldCertificate serverCert, Catcher catcher, Relay relay, PrintStream out) {
        this.dir = dir;
        this.serverCert = serverCert;
        this.catcher = catcher;
        this.relay = relay;
        this.out = out;
    }

    /**
     * Mints the CA, starts the catcher on an ephemeral loopback port and the relay on {@code port}.
     *
     * @throws java.net.BindException if the relay's port is taken
     */
    public static Demo start(Path dir, int port, PrintStream out)
            throws IOException, GeneralSecurityException, ConfigException {
        Files.createDirectories(dir);
        HeldCertificate ca = new CertificateMinter().commonName("tlsrelay demo CA " + Instant.now())
                .certificateAuthority().mint();
        HeldCertificate server = new CertificateMinter().names("localhost", "127.0.0.1").signedBy(ca).mint();
        Path caFile = dir.resolve("ca.pem");
        Files.writeString(caFile, ca.certificatePem());
        Files.writeString(dir.resolve("cert.pem"), server.certificatePem());
        Catcher catcher = Catcher.start(new Catcher.Options(new InetSocketAddress("127.0.0.1", 0), TlsMode.STARTTLS,
                new TlsServer(server, TlsVersion.TLS_1_2), dir.resolve("mail"), Optional.empty()));
        try {
            // The shipped defaults, with the catcher as the upstream and its CA as the only trust.
            RelayConfig config = ConfigLoader.fromValues(Map.of(
                    "listen.port", String.valueOf(port),
                    "upstream.host", "127.0.0.1",
                    "upstream.port", String.valueOf(catcher.port()),
                    "upstream.security", "starttls",
                    "upstream.tls.verify", "full",
                    "upstream.tls.ca-file", caFile.toString(),
                    "spool.dir", dir.resolve("spool").toString(),
                    "audit.file", dir.resolve("audit.jsonl").toString()), Map.of());
            Relay relay = Relay.start(config);
            Demo demo = new Demo(dir, server, catcher, relay, out);
            relay.audit().addListener(demo::onAuditEvent);
            return demo;
        } catch (IOException | GeneralSecurityException | ConfigException | RuntimeException e) {
            catcher.close();
            throw e;
        }
    }

    public int relayPort() {
        return relay.port();
    }

    public Catcher catcher() {
        return catcher;
    }

    public Path auditFile() {
        return relay.config().audit().file();
    }

    /** The certificate the catcher presents (what the relay must have verified). */
    public HeldCertificate serverCertificate() {
        return serverCert;
    }

    /** The banner: where to point a client, where mail and audit go. */
    public void printBanner() {
        int p = relayPort();
        out.println();
        out.println("tlsrelay demo: a relay and a local TLS mail catcher, nothing to configure.");
        out.println();
        out.printf("  relay      127.0.0.1:%d   plain SMTP, point your client or device here%n", p);
        out.printf("  upstream   catcher at 127.0.0.1:%d over STARTTLS, TLS 1.2+, verified against a CA minted"
                + " just now%n", catcher.port());
        out.printf("  CA         %s%n", dir.resolve("ca.pem"));
        out.printf("  server pin sha256/%s%n", serverCert.pin().base64());
        out.printf("  mail       %s   (NNNN.eml + NNNN.json per message)%n", dir.resolve("mail"));
        out.printf("  audit      %s%n", auditFile());
        out.println();
        out.println("Send a message through it:");
        out.printf("  swaks --server 127.0.0.1:%d --from %s --to %s%n", p, FROM, TO);
        out.printf("  python3 -c \"import smtplib; smtplib.SMTP('127.0.0.1', %d).sendmail('%s', ['%s'],"
                + " 'Subject: hello from tlsrelay\\r\\n\\r\\nIt works.\\r\\n')\"%n", p, FROM, TO);
        out.println();
        out.println("Waiting for mail; one line per message (Ctrl-C stops, the directory above is kept).");
        out.flush();
    }

    private void onAuditEvent(AuditEvent event) {
        switch (event) {
            case AuditEvent.Handshake h -> {
                if (h.negotiation().ok()) {
                    handshakes.put(h.session(), h.negotiation());
                } else {
                    out.printf("%s  TLS to the catcher FAILED: %s (%s)%n", h.session(),
                            h.negotiation().failure().map(f -> f.auditName()).orElse("?"),
                            h.negotiation().detail().orElse(""));
                }
            }
            case AuditEvent.Message m -> {
                TlsNegotiation n = handshakes.remove(m.session());
                String tls = n == null ? "no TLS" : n.protocol().orElse("?") + " " + n.cipher().orElse("?")
                        + " | verified " + n.leaf().map(c -> c.subject()).orElse("?");
                out.printf("%s  %s -> relay :%d -> catcher :%d | %s | %s%n", m.session(), m.client(), relayPort(),
                        catcher.port(), tls, m.relayed() ? m.upstreamReply().orElse("")
                                : "NOT relayed: " + m.reason().orElse("?"));
            }
            case AuditEvent.Queued q -> {
                // The relayed line follows as soon as the spool has delivered it.
            }
            case AuditEvent.Deferred d -> out.printf("%s  deferred %s (attempt %d): %s; next try %s%n", d.session(),
                    d.queueId(), d.attempt(), d.reason(), d.nextAttempt());
            case AuditEvent.Dead d -> out.printf("%s  gave up on %s: %s%n", d.session(), d.queueId(), d.reason());
            case AuditEvent.RouteThrottled t -> out.printf("%s  route %s throttled until %s: %s%n", t.session(),
                    t.route(), t.until(), t.reply());
        }
        out.flush();
    }

    /** The outcome of {@link #sendTestMessage}. */
    public record SelfTest(boolean intact, Optional<CaughtMessage> caught, List<String> auditLines, String problem) {}

    /**
     * Sends one message through the whole path as a plain-SMTP client would, waits for it at the
     * catcher and checks that its bytes arrived unchanged.
     */
    public SelfTest sendTestMessage(Duration timeout) throws IOException, InterruptedException {
        String token = UUID.randomUUID().toString();
        byte[] body = ("From: Demo printer <" + FROM + ">\r\n"
                + "To: <" + TO + ">\r\n"
                + "Subject: tlsrelay self-test " + token + "\r\n"
                + "Message-ID: <" + token + "@office.test>\r\n"
                + "\r\n"
                + "This message went from a plain SMTP client through tlsrelay to a TLS server.\r\n"
                + ".A line starting with a dot survives too.\r\n").getBytes(StandardCharsets.US_ASCII);
        long before = Files.exists(auditFile()) ? Files.readAllLines(auditFile()).size() : 0;
        int already = catcher.received().size();
        SmartClient client = SmartClient.createAndConnect("127.0.0.1", relayPort(), "demo.localhost");
        try {
            client.from(FROM);
            client.to(TO);
            client.dataStart();
            client.dataWrite(body);
            client.dataEnd();
        } catch (IOException e) {
            return new SelfTest(false, Optional.empty(), newAuditLines(before), "the relay refused: " + e.getMessage());
        } finally {
            client.quit();
        }
        if (!catcher.awaitMessages(already + 1, timeout)) {
            return new SelfTest(false, Optional.empty(), newAuditLines(before), "nothing arrived at the catcher");
        }
        CaughtMessage caught = catcher.received().get(already);
        byte[] eml = Files.readAllBytes(caught.eml());
        boolean intact = eml.length >= body.length
                && Arrays.equals(eml, eml.length - body.length, eml.length, body, 0, body.length);
        return new SelfTest(intact, Optional.of(caught), newAuditLines(before),
                intact ? "" : "the message arrived altered");
    }

    private List<String> newAuditLines(long skip) throws IOException {
        // The message event is written when the client's session ends; give it a moment.
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        List<String> lines = Files.readAllLines(auditFile());
        while (lines.stream().skip(skip).noneMatch(l -> l.contains("\"event\":\"message."))
                && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            lines = Files.readAllLines(auditFile());
        }
        return lines.stream().skip(skip).toList();
    }

    @Override
    public void close() {
        relay.close();
        catcher.close();
    }
}
