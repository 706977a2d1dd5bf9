package dev.tlsrelay.oauth;

import static dev.tlsrelay.oauth.OAuthFixtures.MAILBOX;
import static dev.tlsrelay.oauth.OAuthFixtures.RECIPIENT;
import static dev.tlsrelay.oauth.OAuthFixtures.SENDER;
import static dev.tlsrelay.oauth.OAuthFixtures.with;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.OAuthProvider;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.XOAuth2Upstream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A preset's AUTH mechanism is the one the relay really uses, against a smarthost that offers
 * {@code PLAIN LOGIN XOAUTH2} as Microsoft 365 and Gmail do. The preset's host is replaced by the
 * loopback upstream with explicit {@code upstream.host}/{@code port} and the test CA.
 */
@Timeout(60)
class PresetAuthMechanismTest {

    private static final String PASSWORD = "app-password-1";

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();
    private OAuthProvider idp;
    private XOAuth2Upstream upstream;

    @BeforeEach
    void start() throws Exception {
        idp = OAuthProvider.start(pki.good());
        upstream = XOAuth2Upstream.withPasswordToo(pki.good(), MAILBOX, PASSWORD, idp);
    }

    @AfterEach
    void stop() {
        upstream.close();
        idp.close();
    }

    private Map<String, String> passwordSettings(String preset) throws Exception {
        Path password = dir.resolve("password");
        Files.writeString(password, PASSWORD + "\n");
        Map<String, String> m = new HashMap<>(Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(upstream.port()),
                "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                "upstream.auth.username", MAILBOX,
                "upstream.auth.password-file", password.toString()));
        if (!preset.isEmpty()) {
            m.put("upstream.preset", preset);
            m.put("upstream.region", "eu-west-1"); // amazon-ses needs it; ignored (with a warning) by the others
        }
        return m;
    }

    private void sendOneAndExpect(Map<String, String> settings, String mechanism) throws Exception {
        try (RelayFixture relay = RelayFixture.start(dir, settings)) {
            String reply = LegacyClient.send(relay.port(), SENDER, LegacyClient.sampleMessage("preset auth"), RECIPIENT);
            assertTrue(reply.startsWith("250"), reply);
            assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(10)));
            assertEquals(List.of(mechanism.toUpperCase(java.util.Locale.ROOT)), upstream.mechanismsUsed(),
                    "the AUTH commands the smarthost received");
            assertEquals(MAILBOX, upstream.received().get(0).authUser());
            assertEquals(mechanism, relay.awaitAudit("message.relayed", 1, Duration.ofSeconds(5)).get(0)
                    .path("auth_mechanism").asText());
        }
    }

    @ParameterizedTest(name = "preset \"{0}\" with a password logs in with {1}")
    @CsvSource({
        "'', plain", // no preset: the relay's own order, PLAIN first
        "microsoft365, login",
        "gmail, plain",
        "google-workspace-relay, plain",
        "amazon-ses, plain",
    })
    void withAPasswordThePresetsMechanismIsTheOneSent(String preset, String mechanism) throws Exception {
        sendOneAndExpect(passwordSettings(preset), mechanism);
    }

    @Test
    void withOAuth2TheMicrosoft365PresetLogsInWithXoauth2() throws Exception {
        Map<String, String> settings = with(OAuthFixtures.clientCredentials(dir, pki, idp, upstream),
                "upstream.preset", "microsoft365");
        sendOneAndExpect(settings, "xoauth2");
    }
}
