package dev.tlsrelay.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** /healthz and /metrics over real HTTP, after relaying real messages. */
@Timeout(60)
class AdminEndpointTest {

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static double metric(String scrape, String name, String labels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} ([0-9.eE+-]+)$").matcher(scrape);
        double sum = 0;
        while (m.find()) {
            boolean all = true;
            for (String l : labels.split(",")) {
                all &= l.isEmpty() || m.group(1).contains(l);
            }
            if (all) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }

    @Test
    void healthAndCountersFollowWhatTheRelayDid() throws Exception {
        TestPki pki = new TestPki();
        int down = Catchers.unusedPort();
        try (Catcher upstream = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.hosts", "127.0.0.1:" + down + ", 127.0.0.1:" + upstream.port(),
                        "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                        "admin.port", "0"))) {
            int admin = relay.relay.adminPort().orElseThrow();
            HttpResponse<String> before = get(admin, "/healthz");
            assertEquals(200, before.statusCode());
            assertTrue(new ObjectMapper().readTree(before.body()).get("last_upstream").isNull());

            for (int i = 0; i < 3; i++) {
                LegacyClient.send(relay.port(), "scanner@office.test", LegacyClient.sampleMessage("m" + i),
                        "admin@office.test");
            }
            assertTrue(upstream.awaitMessages(3, Duration.ofSeconds(10)));
            Thread.sleep(200);

            JsonNode health = new ObjectMapper().readTree(get(admin, "/healthz").body());
            assertEquals("ok", health.get("status").asText());
            assertEquals("up", health.get("listener").asText());
            assertEquals("ok", health.get("last_upstream").get("outcome").asText());

            HttpResponse<String> metrics = get(admin, "/metrics");
            assertEquals(200, metrics.statusCode());
            String text = metrics.body();
            assertEquals(3.0, metric(text, "tlsrelay_messages_total", "outcome=\"relayed\""), text);
            // One failed attempt (the first smarthost is down), then one connection reused for all three.
            assertEquals(1.0, metric(text, "tlsrelay_tls_handshakes_total", "outcome=\"failed\",failure=\"connect_failed\""));
            assertEquals(1.0, metric(text, "tlsrelay_tls_handshakes_total", "outcome=\"ok\",protocol=\"TLSv1.3\""));
            assertTrue(text.contains("tlsrelay_tls_handshake_seconds_bucket"), "a handshake histogram");
            assertTrue(text.contains("tlsrelay_upstream_seconds_count"), "upstream latency");
            double days = metric(text, "tlsrelay_upstream_certificate_expiry_days", "upstream=\"127.0.0.1:"
                    + upstream.port() + "\"");
            assertTrue(days > 25 && days < 31, "TestPki certificates last 30 days: " + days);
            assertTrue(text.contains("tlsrelay_sessions_active"));
            assertEquals(3.0, metric(text, "tlsrelay_route_messages_total", "route=\"default\",outcome=\"relayed\""),
                    text);
            assertEquals(0.0, metric(text, "tlsrelay_route_seconds_until_ready", "route=\"default\""),
                    "no rate limit: the default route may send now");
            assertTrue(text.contains("tlsrelay_route_recipients_left_today{route=\"default\"} NaN"),
                    "no daily limit on the default route");
            assertEquals(405, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/metrics"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode());
        }
    }
}
