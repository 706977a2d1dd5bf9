package dev.tlsrelay.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.catcher.CaughtMessage;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tlsrelay send-test}: one message through the configured upstream with the policy {@code run}
 * uses, the negotiation shown like {@code probe} shows it, and the same audit lines a relayed
 * message gets.
 */
@Timeout(60)
class SendTestTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TestPki pki = new TestPki();

    @TempDir
    Path dir;

    private Path config(int port, String... extra) throws Exception {
        List<String> lines = new ArrayList<>(List.of(
                "upstream.host = 127.0.0.1",
                "upstream.port = " + port,
                "upstream.security = starttls",
                "upstream.tls.ca-file = " + pki.writeCa(dir),
                "upstream.timeout = 10s",
                "audit.file = " + dir.resolve("audit.jsonl")));
        lines.addAll(List.of(extra));
        Path f = dir.resolve("tlsrelay.properties");
        Files.write(f, lines);
        return f;
    }

    private List<JsonNode> audit() throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(dir.resolve("audit.jsonl"))) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    @Test
    void sendsOneMessageWithTheRunPolicyAndAuditsItLikeARelayedMessage() throws Exception {
        Path password = dir.resolve("password");
        Files.writeString(password, "s3cret\n");
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good(),
                Optional.of(new Catcher.Credentials("scanner@office.test", "s3cret")))) {
            Path config = config(catcher.port(), "upstream.auth.username = scanner@office.test",
                    "upstream.auth.password-file = " + password);

            Cli text = Cli.run("send-test", "--config", config.toString(), "--to", "admin@office.test");

            assertEquals(0, text.exit(), text.toString());
            assertTrue(text.out().contains("result: the relay WILL work with 127.0.0.1:" + catcher.port()), text.out());
            assertTrue(text.out().contains("ehlo       after TLS: AUTH PLAIN LOGIN"), text.out());
            assertTrue(text.out().matches("(?s).*\\nrcpt       RCPT TO:<admin@office\\.test>\\n           -> 250 .*"),
                    text.out());
            assertTrue(text.out().contains("result: the upstream ACCEPTED the test message: 250 "), text.out());
            assertTrue(catcher.awaitMessages(1, Duration.ofSeconds(10)));
            CaughtMessage m = catcher.received().get(0);
            assertEquals("scanner@office.test", m.mailFrom(), "--from defaults to the AUTH user name");
            assertEquals(List.of("admin@office.test"), m.recipients());
            assertEquals(Optional.of("scanner@office.test"), m.authUser());
            String eml = Files.readString(m.eml());
            assertTrue(eml.contains("Subject: tlsrelay send-test via 127.0.0.1\r\n"), eml);
            assertTrue(eml.startsWith("Received: from tlsrelay-send-test ([127.0.0.1])"), eml);

            List<JsonNode> audit = audit();
            JsonNode hs = audit.stream().filter(n -> n.path("event").asText().equals("tls.handshake")).findFirst()
                    .orElseThrow();
            assertEquals("ok", hs.path("outcome").asText());
            assertEquals(m.tlsProtocol(), hs.path("protocol").asText());
            assertTrue(hs.path("session").asText().startsWith("send-test-"), hs.toString());
            JsonNode msg = audit.stream().filter(n -> n.path("event").asText().equals("message.relayed")).findFirst()
                    .orElseThrow();
            assertEquals(hs.path("session").asText(), msg.path("session").asText());
            assertEquals("scanner@office.test", msg.path("mail_from").asText());
            assertEquals(1, msg.path("rcpt_accepted").asInt());
            assertTrue(text.out().contains("send-test  session " + hs.path("session").asText()), text.out());

            JsonNode json = Cli.json("send-test", "--config", config.toString(), "--to", "admin@office.test",
                    "--from", "printer@office.test");
            assertTrue(json.path("send").path("delivered").asBoolean(), json.toPrettyString());
            assertEquals("ok", json.path("send").path("tls").path("outcome").asText());
            assertEquals(250, json.path("send").path("dialogue").get(2).path("reply_code").asInt());
            assertTrue(json.path("probes").get(0).path("relay_would_succeed").asBoolean());
            assertEquals(catcher.port(), json.path("send").path("port").asInt());
            assertTrue(catcher.awaitMessages(2, Duration.ofSeconds(10)));
            assertEquals("printer@office.test", catcher.received().get(1).mailFrom());
            assertEquals(2, audit().stream().filter(n -> n.path("event").asText().equals("message.relayed")).count(),
                    "each send-test appends to the audit");
        }
    }

    @Test
    void aRefusedUpstreamIsExplainedAndAuditedAsAFailure() throws Exception {
        HeldCertificate wrongHost = pki.wrongHost();
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, wrongHost)) {
            Path config = config(catcher.port());

            Cli text = Cli.run("send-test", "--config", config.toString(), "--to", "admin@office.test",
                    "--from", "printer@office.test");

            assertEquals(1, text.exit(), text.toString());
            assertTrue(text.out().contains("  FAIL  certificate name does not match 127.0.0.1: use the host name the"
                    + " certificate was issued for (mail.wrong-host.test)\n"), text.out());
            assertTrue(text.out().contains("result: the test message was NOT accepted: 451 4.7.0 Upstream 127.0.0.1:"
                    + catcher.port() + " hostname_mismatch"), text.out());
            assertTrue(text.out().contains("tls        127.0.0.1:" + catcher.port() + " failed: hostname_mismatch"),
                    text.out());
            assertEquals(0, catcher.received().size());
            List<JsonNode> audit = audit();
            JsonNode hs = audit.stream().filter(n -> n.path("event").asText().equals("tls.handshake")).findFirst()
                    .orElseThrow();
            assertEquals("hostname_mismatch", hs.path("failure").asText());
            JsonNode failed = audit.stream().filter(n -> n.path("event").asText().equals("message.failed")).findFirst()
                    .orElseThrow();
            assertEquals("hostname_mismatch", failed.path("failure").asText());
            assertEquals(hs.path("session").asText(), failed.path("session").asText());
            assertFalse(json(config).path("send").path("delivered").asBoolean());
        }
    }

    private JsonNode json(Path config) throws Exception {
        return Cli.json("send-test", "--config", config.toString(), "--to", "admin@office.test", "--from",
                "printer@office.test");
    }

    @Test
    void configurationAndUsageErrorsExitTwo() throws Exception {
        Cli missing = Cli.run("send-test", "--config", dir.resolve("nope.properties").toString(), "--to", "a@b.test");
        assertEquals(2, missing.exit(), missing.toString());
        assertTrue(missing.err().contains("does not exist"), missing.err());

        Path config = config(2525);
        assertEquals(2, Cli.run("send-test", "--config", config.toString()).exit(), "--to is required");
        Cli noFrom = Cli.run("send-test", "--config", config.toString(), "--to", "a@b.test");
        assertEquals(2, noFrom.exit(), noFrom.toString());
        assertTrue(noFrom.err().contains("give --from ADDRESS"), noFrom.err());
        assertEquals(2, Cli.run("send-test", "--config", config.toString(), "--to", "not an address",
                "--from", "a@b.test").exit());
        assertFalse(Files.exists(dir.resolve("audit.jsonl")), "nothing was sent, nothing audited");
    }
}
