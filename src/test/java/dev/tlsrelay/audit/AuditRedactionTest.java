package dev.tlsrelay.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.AuditScenario;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.SMTPServer;

/** {@code audit.redact-addresses}: no address reaches the audit in clear, yet the key holder finds them. */
@Timeout(60)
class AuditRedactionTest {

    @TempDir
    Path dir;

    @Test
    void addressesAreKeyedHashesEverywhereAndStillSearchable() throws Exception {
        TestPki pki = new TestPki();
        Path keyFile = dir.resolve("redaction.key");
        Files.writeString(keyFile, "Zm9yIHRlc3RzIG9ubHk6IGEgMzItYnl0ZSByZWRhY3Rpb24ga2V5IQ==\n");
        AuditKey key = AuditKey.read(keyFile);
        // A smarthost that refuses one recipient, quoting the address in its reply as real servers do.
        SMTPServer upstream = SMTPServer.port(0).bindAddress(InetAddress.getByName("127.0.0.1")).hostName("picky.test")
                .enableTLS().requireTLS().startTlsSocketFactory(new TlsServer(pki.good(), TlsVersion.TLS_1_2)::layerOver)
                .messageHandlerFactory(ctx -> new MessageHandler() {
                    @Override
                    public void from(String from) {}

                    @Override
                    public void recipient(String recipient) throws RejectException {
                        if (recipient.startsWith("nobody@")) {
                            throw new RejectException(550, "5.1.1 <" + recipient + ">: no such user");
                        }
                    }

                    @Override
                    public String data(InputStream data) throws java.io.IOException {
                        data.transferTo(java.io.OutputStream.nullOutputStream());
                        return null;
                    }

                    @Override
                    public void done() {}
                }).build();
        upstream.start();
        try (RelayFixture relay = RelayFixture.start(dir, Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(upstream.getPortAllocated()),
                "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                "audit.redact-addresses", "true",
                "audit.redaction-key-file", keyFile.toString()))) {
            LegacyClient.send(relay.port(), "printer@office.test", LegacyClient.sampleMessage("redacted"),
                    "admin@office.test");
            try (RawSmtp c = RawSmtp.connect(relay.port())) {
                c.reply();
                c.command("EHLO device.lan");
                c.command("MAIL FROM:<Printer@Office.TEST>");
                assertTrue(c.command("RCPT TO:<nobody@office.test>").startsWith("550"));
                c.command("QUIT");
            }
            AuditScenario.awaitMessages(relay, 2);
        } finally {
            upstream.stop();
        }
        Path audit = dir.resolve("audit.jsonl");
        String raw = Files.readString(audit);
        assertFalse(raw.toLowerCase().contains("office.test"), "an address reached the audit in clear:\n" + raw);

        AddressRedaction r = new AddressRedaction(key);
        List<JsonNode> messages = new ArrayList<>();
        AuditRecord.read(List.of(audit), rec -> {
            if (rec.isMessage()) {
                messages.add(rec.json());
            }
        });
        assertEquals(r.hash("printer@office.test"), messages.get(0).get("mail_from").asText());
        assertEquals(r.hash("admin@office.test"), messages.get(0).get("rcpt_to").get(0).asText());
        assertEquals(messages.get(0).get("mail_from"), messages.get(1).get("mail_from"), "same sender, same hash");
        assertTrue(messages.get(1).get("reason").asText().contains(r.hash("nobody@office.test")),
                messages.get(1).get("reason").asText());
        JsonNode started = Files.readAllLines(audit).stream().map(AuditRedactionTest::json).findFirst().orElseThrow();
        assertEquals("redacted", started.get("addresses").asText());
        assertEquals(key.id(), started.get("redaction_key_id").asText());

        AuditSearch.Query bySender = new AuditSearch.Query(Optional.empty(), Optional.empty(),
                Optional.of("PRINTER@office.test"), Optional.empty(), Optional.empty(), Optional.empty(), TimeWindow.ALL);
        List<AuditRecord> found = new ArrayList<>();
        AuditSearch.Result withKey = AuditSearch.search(List.of(audit), bySender, Optional.of(key), found::add);
        assertEquals(2, withKey.matched());
        AuditSearch.Result withoutKey = AuditSearch.search(List.of(audit), bySender, Optional.empty(), rec -> { });
        assertEquals(0, withoutKey.matched());
        assertTrue(withoutKey.redactedWithoutKey());
        AuditSearch.Query byRecipient = new AuditSearch.Query(Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.of("nobody@office.test"), Optional.empty(), Optional.empty(), TimeWindow.ALL);
        assertEquals(1, AuditSearch.search(List.of(audit), byRecipient, Optional.of(key), rec -> { }).matched());
        assertTrue(ChainVerifier.verify(List.of(audit), Optional.empty()).intact());
    }

    private static JsonNode json(String line) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
