package dev.tlsrelay.relay;

import static dev.tlsrelay.relay.UpstreamFailures.assertRefused;
import static dev.tlsrelay.relay.UpstreamFailures.sendExpectingRefusal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.SmtpRefusal;
import dev.tlsrelay.support.StartTlsRefusingServer;
import dev.tlsrelay.support.TestPki;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An upstream that advertises STARTTLS but answers it with 454: it was reached and it will not do
 * TLS, which is a TLS refusal (4.7.0, {@code starttls_not_offered}), not a network failure. The
 * relay must not go on in plaintext.
 */
@Timeout(60)
class StartTlsRefusedUpstreamTest {

    @TempDir
    Path dir;

    @Test
    void refusedStartTlsIsATlsFailureNotAConnectFailure() throws Exception {
        try (StartTlsRefusingServer upstream = StartTlsRefusingServer.start();
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.host", "127.0.0.1",
                        "upstream.port", String.valueOf(upstream.port()),
                        "upstream.security", "starttls",
                        "upstream.tls.ca-file", new TestPki().writeCa(dir).toString()))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "starttls refused");

            JsonNode hs = assertRefused(relay, refusal, "starttls_not_offered", "4.7.0", "starttls");
            assertTrue(hs.path("detail").asText().contains(StartTlsRefusingServer.REFUSAL),
                    "the detail quotes the server's refusal: " + hs);
            assertFalse(hs.has("cert_sha256"), hs.toString());
            List<String> said = upstream.commands();
            assertEquals(2, said.size(), "EHLO, STARTTLS and nothing else in plaintext: " + said);
            assertTrue(said.get(0).startsWith("EHLO "), said.toString());
            assertEquals("STARTTLS", said.get(1));
        }
    }
}
