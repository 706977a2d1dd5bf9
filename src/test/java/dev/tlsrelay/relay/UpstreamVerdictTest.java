package dev.tlsrelay.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.PickyUpstream;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device hears the upstream's own verdict: per recipient at RCPT, and for the message at DATA.
 * The upstream is a real SubEthaSMTP server with STARTTLS that refuses some recipients and messages.
 */
@Timeout(60)
class UpstreamVerdictTest {

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();
    private PickyUpstream upstream;

    @BeforeEach
    void startPickyUpstream() throws IOException {
        upstream = new PickyUpstream(pki.good());
    }

    @AfterEach
    void stop() {
        upstream.close();
    }

    private RelayFixture relay() throws Exception {
        return RelayFixture.start(dir, Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(upstream.port()),
                "upstream.tls.ca-file", pki.writeCa(dir).toString()));
    }

    private List<String> delivered() {
        return upstream.accepted().stream().map(a -> String.join(",", a.recipients())).toList();
    }

    @Test
    void recipientVerdictsArePassedThroughOneByOne() throws Exception {
        try (RelayFixture relay = relay(); RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO scanner.lan");
            assertTrue(c.command("MAIL FROM:<scanner@office.test>").startsWith("250"));
            assertTrue(c.command("RCPT TO:<admin@office.test>").startsWith("250"));
            String unknown = c.command("RCPT TO:<nobody@office.test>");
            assertTrue(unknown.startsWith("550 5.1.1 <nobody@office.test>: no such user"), unknown);
            String full = c.command("RCPT TO:<full@office.test>");
            assertTrue(full.startsWith("452 4.2.2"), full);
            assertTrue(c.command("DATA").startsWith("354"));
            String end = c.command("Subject: hello\r\n\r\nhi\r\n.");
            assertTrue(end.startsWith("250") && end.contains("queued as PICKY1"), end);
            c.command("QUIT");
            assertEquals(List.of("admin@office.test"), delivered());
            JsonNode relayed = relay.audit("message.relayed").get(0);
            assertEquals(3, relayed.get("rcpt_count").asInt());
            assertEquals(1, relayed.get("rcpt_accepted").asInt());
        }
    }

    @Test
    void messageVerdictsKeepTheirClass() throws Exception {
        try (RelayFixture relay = relay(); RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO scanner.lan");
            c.command("MAIL FROM:<scanner@office.test>");
            c.command("RCPT TO:<admin@office.test>");
            c.command("DATA");
            String permanent = c.command("Subject: spam\r\n\r\nbuy\r\n.");
            assertTrue(permanent.startsWith("554 5.7.1 Message rejected as spam"), permanent);

            // No RSET needed after a refused DATA.
            assertTrue(c.command("MAIL FROM:<scanner@office.test>").startsWith("250"));
            c.command("RCPT TO:<admin@office.test>");
            c.command("DATA");
            String temporary = c.command("Subject: later\r\n\r\nwait\r\n.");
            assertTrue(temporary.startsWith("451 4.3.0 Try again later"), temporary);
            c.command("QUIT");
            assertTrue(delivered().isEmpty());
            List<JsonNode> failed = relay.audit("message.failed");
            assertEquals(2, failed.size());
            assertTrue(failed.get(0).get("upstream_reply").asText().startsWith("554"));
        }
    }

    @Test
    void utf8AddressesUseSmtpUtf8Upstream() throws Exception {
        try (RelayFixture relay = relay(); RawSmtp c = RawSmtp.connect(relay.port())) {
            c.reply();
            c.command("EHLO scanner.lan");
            String mail = c.command("MAIL FROM:<jörg@bücher.test> SMTPUTF8");
            assertTrue(mail.startsWith("250"), mail);
            assertTrue(c.command("RCPT TO:<admin@office.test>").startsWith("250"));
            c.command("DATA");
            String end = c.command("Subject: utf8\r\n\r\nhi\r\n.");
            assertTrue(end.startsWith("250"), end);
            c.command("QUIT");
        }
        assertEquals(1, delivered().size());
    }

}
