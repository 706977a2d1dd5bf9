package dev.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.catcher.CaughtMessage;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.TlsRelayProcess;
import dev.tlsrelay.tls.Pem;
import dev.tlsrelay.tls.TlsMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The first-run experience, with real processes: {@code demo --send}, two demos at once, the catcher. */
@Timeout(120)
class DemoAndCatcherTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void demoSendRelaysOneMessageOverVerifiedTlsAndExitsZero() throws Exception {
        Path demoDir = dir.resolve("demo");
        try (TlsRelayProcess demo = TlsRelayProcess.start(dir, "demo", "--send", "--port", "0", "--dir",
                demoDir.toString())) {
            assertEquals(0, demo.waitFor(Duration.ofSeconds(90)), demo.output());
            assertTrue(demo.output().contains("arrived byte for byte intact"), demo.output());
        }
        // The message at the catcher, intact.
        Path eml = demoDir.resolve("mail/0001.eml");
        assertTrue(Files.readString(eml).contains("Subject: tlsrelay self-test"));
        // An ok handshake whose certificate is the one the demo minted and served.
        byte[] minted = Pem.readCertificates(demoDir.resolve("cert.pem")).get(0).getEncoded();
        String mintedSha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(minted));
        List<JsonNode> audit = Files.readAllLines(demoDir.resolve("audit.jsonl")).stream()
                .map(l -> {
                    try {
                        return JSON.readTree(l);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }).toList();
        JsonNode hs = audit.stream().filter(n -> n.get("event").asText().equals("tls.handshake")).findFirst()
                .orElseThrow();
        assertEquals("ok", hs.get("outcome").asText());
        assertEquals(mintedSha256, hs.get("cert_sha256").asText());
        assertTrue(hs.get("protocol").asText().startsWith("TLSv1."));
        assertTrue(audit.stream().anyMatch(n -> n.get("event").asText().equals("message.relayed")
                && n.get("session").asText().equals(hs.get("session").asText())));
    }

    @Test
    void secondDemoOnTheSamePortFailsNamingThePortOption() throws Exception {
        try (TlsRelayProcess first = TlsRelayProcess.start(dir, "demo", "--port", "0", "--dir",
                dir.resolve("first").toString())) {
            String relayLine = first.awaitLine(l -> l.contains("relay      127.0.0.1:"), Duration.ofSeconds(60));
            Matcher m = Pattern.compile("127\\.0\\.0\\.1:(\\d+)").matcher(relayLine);
            assertTrue(m.find(), relayLine);
            String port = m.group(1);
            try (TlsRelayProcess second = TlsRelayProcess.start(dir, "demo", "--port", port, "--dir",
                    dir.resolve("second").toString())) {
                assertNotEquals(0, second.waitFor(Duration.ofSeconds(60)));
                assertTrue(second.output().contains("port " + port + " on 127.0.0.1 is already in use"),
                        second.output());
                assertTrue(second.output().contains("--port"), second.output());
            }
        }
    }

    @Test
    void catcherRefusesMailBeforeStartTls() throws Exception {
        try (Catcher catcher = Catchers.start(dir, TlsMode.STARTTLS, new TestPki().good());
                RawSmtp c = RawSmtp.connect(catcher.port())) {
            assertTrue(c.reply().startsWith("220"));
            String ehlo = c.command("EHLO device.lan");
            assertTrue(ehlo.contains("STARTTLS"), ehlo);
            String mail = c.command("MAIL FROM:<device@office.test>");
            assertTrue(mail.startsWith("530"), mail);
            assertTrue(catcher.received().isEmpty());
        }
    }

    @Test
    void catcherSavesTheMessageAndItsFacts() throws Exception {
        TestPki pki = new TestPki();
        try (Catcher catcher = Catchers.start(dir, TlsMode.IMPLICIT, pki.good())) {
            // A plain JSSE client over implicit TLS, trusting only the test CA.
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setCertificateEntry("ca", pki.ca.certificate());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            byte[] body = "Subject: facts\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII);
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", catcher.port())) {
                s.setSoTimeout(10_000);
                var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                        StandardCharsets.US_ASCII));
                var out = s.getOutputStream();
                assertTrue(in.readLine().startsWith("220"));
                out.write("EHLO device.lan\r\n".getBytes(StandardCharsets.US_ASCII));
                String line;
                while ((line = in.readLine()).startsWith("250-")) {
                    // capabilities
                }
                for (String cmd : new String[] {"MAIL FROM:<device@office.test>", "RCPT TO:<admin@office.test>",
                        "DATA"}) {
                    out.write((cmd + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    assertTrue(in.readLine().matches("^(250|354).*"));
                }
                out.write(body);
                out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
                assertTrue(in.readLine().startsWith("250"));
            }
            assertTrue(catcher.awaitMessages(1, Duration.ofSeconds(5)));
            CaughtMessage m = catcher.received().get(0);
            assertEquals(dir.resolve("0001.eml"), m.eml());
            assertEquals(new String(body, StandardCharsets.US_ASCII), Files.readString(m.eml()));
            JsonNode facts = JSON.readTree(dir.resolve("0001.json").toFile());
            assertEquals("device@office.test", facts.get("mail_from").asText());
            assertEquals("admin@office.test", facts.get("rcpt_to").get(0).asText());
            assertEquals("127.0.0.1", facts.get("client").asText());
            assertTrue(facts.get("tls_protocol").asText().startsWith("TLSv1."));
            assertTrue(facts.get("tls_cipher").asText().startsWith("TLS_"));
            assertTrue(facts.get("auth_user").isNull());
            assertEquals(body.length, facts.get("size").asLong());
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body)),
                    facts.get("sha256").asText());
        }
    }

    @Test
    void checkConfigOnTheShippedFileNamesTheExampleValues() throws Exception {
        Path repo = Path.of("").toAbsolutePath();
        try (TlsRelayProcess p = TlsRelayProcess.start(repo, "check-config", "--config", "conf/tlsrelay.properties")) {
            assertEquals(0, p.waitFor(Duration.ofSeconds(60)), p.output());
            assertTrue(p.output().contains("still hold example values"), p.output());
            assertTrue(p.output().contains("- upstream.host = smtp.example.com"), p.output());
        }
    }

    @Test
    void checkConfigRejectsABadFileWithExitTwoNamingTheKey() throws Exception {
        Path bad = dir.resolve("bad.properties");
        Files.writeString(bad, "upstream.host = smtp.office365.com\nupstream.security = none\nlisten.port = 0x19\n");
        try (TlsRelayProcess p = TlsRelayProcess.start(dir, "check-config", "--config", bad.toString())) {
            assertEquals(2, p.waitFor(Duration.ofSeconds(60)), p.output());
            assertTrue(p.output().contains("upstream.security = none: expected starttls or implicit"), p.output());
            assertTrue(p.output().contains("listen.port = 0x19: expected a port number"), p.output());
        }
        try (TlsRelayProcess p = TlsRelayProcess.start(dir, "run", "--config", bad.toString())) {
            assertEquals(2, p.waitFor(Duration.ofSeconds(60)), p.output());
        }
    }
}
