package dev.tlsrelay.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.config.ConfigLoader;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A reload changes upstream, credentials and limits for what starts next; what is in flight finishes. */
@Timeout(60)
class ReloadTest {

    @TempDir
    Path dir;

    @Test
    void newCredentialsApplyToTheNextMessageWhileTheInFlightOneFinishes() throws Exception {
        TestPki pki = new TestPki();
        Files.writeString(dir.resolve("pw-a"), "first-secret\n");
        Files.writeString(dir.resolve("pw-b"), "second-secret\n");
        try (Catcher a = Catchers.start(dir.resolve("a"), TlsMode.STARTTLS, pki.good(),
                        Optional.of(new Catcher.Credentials("user-a", "first-secret")));
                Catcher b = Catchers.start(dir.resolve("b"), TlsMode.STARTTLS, pki.good(),
                        Optional.of(new Catcher.Credentials("user-b", "second-secret")))) {
            Map<String, String> first = new HashMap<>(Map.of(
                    "upstream.host", "127.0.0.1",
                    "upstream.port", String.valueOf(a.port()),
                    "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                    "upstream.auth.username", "user-a",
                    "upstream.auth.password-file", dir.resolve("pw-a").toString()));
            try (RelayFixture relay = RelayFixture.start(dir, first); RawSmtp inFlight = RawSmtp.connect(relay.port())) {
                inFlight.reply();
                inFlight.command("EHLO scanner.lan");
                inFlight.command("MAIL FROM:<scanner@office.test>");
                inFlight.command("RCPT TO:<admin@office.test>");
                assertTrue(inFlight.command("DATA").startsWith("354"));
                inFlight.sendRaw("Subject: in flight\r\n\r\nstarted before the reload\r\n".getBytes(StandardCharsets.US_ASCII));

                Map<String, String> second = new HashMap<>(first);
                second.put("upstream.port", String.valueOf(b.port()));
                second.put("upstream.auth.username", "user-b");
                second.put("upstream.auth.password-file", dir.resolve("pw-b").toString());
                second.put("listen.hostname", "renamed");
                second.put("listen.port", "0");
                second.put("audit.file", relay.auditFile.toString());
                second.put("delivery.mode", "pass-through");
                second.put("spool.dir", dir.resolve("spool").toString());
                second.put("listen.timeout", "20s");
                second.put("listen.drain-timeout", "5s");
                second.put("upstream.timeout", "10s");
                List<String> notes = relay.relay.reload(ConfigLoader.fromValues(second, Map.of()));
                assertEquals(List.of("listen.hostname changed: it takes effect after a restart; the running value"
                        + " stays"), notes);

                inFlight.sendRaw(".\r\n".getBytes(StandardCharsets.US_ASCII));
                assertTrue(inFlight.reply().startsWith("250"), "the in-flight message finishes on its connection");
                assertTrue(a.awaitMessages(1, Duration.ofSeconds(10)));
                assertEquals(Optional.of("user-a"), a.received().get(0).authUser());

                String reply = LegacyClient.send(relay.port(), "scanner@office.test",
                        LegacyClient.sampleMessage("after reload"), "admin@office.test");
                assertTrue(reply.startsWith("250"), reply);
                assertTrue(b.awaitMessages(1, Duration.ofSeconds(10)));
                assertEquals(Optional.of("user-b"), b.received().get(0).authUser());
                assertEquals(1, a.received().size());
                assertEquals("tlsrelay", relay.relay.config().listen().hostname());
            }
        }
    }
}
