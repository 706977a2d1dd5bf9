package dev.tlsrelay.audit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.support.LogCapture;
import dev.tlsrelay.support.PickyUpstream;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code audit.redact-addresses} covers the operational log too: no sender or recipient in clear,
 * the audit's hash in its place; with redaction off the log names them as before.
 */
@Timeout(90)
class LogRedactionTest {

    private static final String KEY = "Zm9yIHRlc3RzIG9ubHk6IGEgMzItYnl0ZSByZWRhY3Rpb24ga2V5IQ==";
    private static final List<String> ADDRESSES = List.of("printer@office.test", "admin@office.test",
            "nobody@office.test", "full@office.test");

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();

    @Test
    void passThroughLogsHashesWhereItNamedAddresses() throws Exception {
        String log = relayAndCapture("pass-through", true);
        assertNoAddressInClear(log);
        AddressRedaction r = redaction();
        assertTrue(log.contains("relayed <" + r.hash("printer@office.test") + ">"), log);
        String nobody = r.hash("nobody@office.test");
        assertTrue(log.contains("upstream refused recipient <" + nobody + ">: 550 5.1.1 <" + nobody + ">"), log);
        assertTrue(log.contains("not relayed <" + r.hash("printer@office.test") + ">"), log);
    }

    @Test
    void spoolLogsHashesForQueuedRelayedAndDeadMessages() throws Exception {
        String log = relayAndCapture("spool", true);
        assertNoAddressInClear(log);
        AddressRedaction r = redaction();
        assertTrue(log.contains("from <" + r.hash("printer@office.test") + "> for 3 recipient(s)"), log);
        assertTrue(log.contains("<" + r.hash("nobody@office.test") + ">: 550 5.1.1"), log);
    }

    @Test
    void withoutRedactionTheLogNamesAddressesAsBefore() throws Exception {
        String log = relayAndCapture("spool", false);
        assertTrue(log.contains("from <Printer@Office.TEST> for 3 recipient(s)"), log);
        assertTrue(log.contains("<nobody@office.test>: 550 5.1.1 <nobody@office.test>: no such user"), log);
        assertFalse(log.contains(AddressRedaction.PREFIX), log);
    }

    /**
     * One message to an accepted, a refused (550) and a deferred (452) recipient; returns the log
     * once the outcome is audited (relayed and refused, or relayed, deferred and dead).
     */
    private String relayAndCapture(String mode, boolean redact) throws Exception {
        Files.writeString(dir.resolve("redaction.key"), KEY + "\n");
        try (PickyUpstream upstream = new PickyUpstream(pki.good()); LogCapture logs = new LogCapture()) {
            Map<String, String> s = new HashMap<>(Map.of(
                    "delivery.mode", mode,
                    "upstream.host", "127.0.0.1",
                    "upstream.port", String.valueOf(upstream.port()),
                    "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                    "spool.retry.initial", "200ms",
                    "spool.retry.max-interval", "400ms",
                    "spool.max-age", "2s")); // full@ (452) expires soon, so the message ends as a dead letter
            if (redact) {
                s.put("audit.redact-addresses", "true");
                s.put("audit.redaction-key-file", dir.resolve("redaction.key").toString());
            }
            try (RelayFixture relay = RelayFixture.start(dir, s)) {
                try (RawSmtp c = RawSmtp.connect(relay.port())) {
                    c.reply();
                    c.command("EHLO printer.lan");
                    c.command("MAIL FROM:<Printer@Office.TEST>");
                    c.command("RCPT TO:<admin@office.test>");
                    c.command("RCPT TO:<nobody@office.test>");
                    c.command("RCPT TO:<full@office.test>");
                    c.command("DATA");
                    String done = c.command("Subject: scan\r\n\r\nsee attached\r\n.");
                    assertTrue(done.startsWith("250"), done);
                    c.command("QUIT");
                }
                Duration wait = Duration.ofSeconds(30);
                relay.awaitAudit("message.relayed", 1, wait);
                if (mode.equals("spool")) {
                    relay.awaitAudit("message.deferred", 1, wait);
                    relay.awaitAudit("message.dead", 1, wait);
                } else {
                    // A transaction that ends with every recipient refused: logged as not relayed.
                    try (RawSmtp c = RawSmtp.connect(relay.port())) {
                        c.reply();
                        c.command("EHLO printer.lan");
                        c.command("MAIL FROM:<printer@office.test>");
                        assertTrue(c.command("RCPT TO:<nobody@office.test>").startsWith("550"));
                        c.command("QUIT");
                    }
                    relay.awaitAudit("message.failed", 1, wait);
                }
            }
            return logs.text();
        }
    }

    private AddressRedaction redaction() throws Exception {
        return new AddressRedaction(AuditKey.read(dir.resolve("redaction.key")));
    }

    private static void assertNoAddressInClear(String log) {
        String lower = log.toLowerCase(Locale.ROOT);
        for (String a : ADDRESSES) {
            assertFalse(lower.contains(a), a + " reached the operational log in clear:\n" + log);
        }
        assertTrue(log.contains(AddressRedaction.PREFIX), log);
    }
}
