package dev.tlsrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** upstream.oauth2.* and upstream.auth.mechanism: one way to log in, every mistake named. */
class OAuth2ConfigTest {

    @TempDir
    Path dir;

    private Map<String, String> clientCredentials() throws Exception {
        Path secret = dir.resolve("secret");
        Files.writeString(secret, "s3cret\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Map<String, String> m = new HashMap<>();
        m.put("upstream.host", "smtp.office365.com");
        m.put("upstream.auth.username", "scanner@office.test");
        m.put("upstream.oauth2.token-url", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
        m.put("upstream.oauth2.client-id", "00000000-0000-0000-0000-000000000001");
        m.put("upstream.oauth2.client-secret-file", secret.toString());
        m.put("upstream.oauth2.scope", "https://outlook.office365.com/.default");
        return m;
    }

    private List<String> problems(Map<String, String> m) {
        return assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of())).problems();
    }

    @Test
    void clientCredentialsLoad() throws Exception {
        RelayConfig c = ConfigLoader.fromValues(clientCredentials(), Map.of());
        RelayConfig.Credentials auth = c.upstream().auth().orElseThrow();
        assertEquals(List.of(RelayConfig.AuthMechanism.XOAUTH2), auth.mechanisms());
        assertTrue(auth.password().isEmpty());
        RelayConfig.OAuth2 o = auth.oauth2().orElseThrow();
        assertEquals("client_credentials", o.grantType());
        assertEquals(URI.create("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"),
                o.tokenUrl());
        assertEquals("s3cret", o.clientSecret().orElseThrow().value());
        assertEquals(Duration.ofMinutes(5), o.refreshBefore());
        assertEquals("JDK trust store", o.https().trust().describe());
        assertTrue(c.warnings().isEmpty(), c.warnings().toString());
        assertTrue(c.settings().stream().noneMatch(s -> s.shown().contains("s3cret")));
    }

    @Test
    void aRefreshTokenFileMeansTheRefreshTokenGrant() throws Exception {
        Path rt = dir.resolve("refresh-token");
        Files.writeString(rt, "1//0refresh\n");
        Map<String, String> m = clientCredentials();
        m.remove("upstream.oauth2.scope");
        m.put("upstream.oauth2.refresh-token-file", rt.toString());
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        RelayConfig.OAuth2 o = c.upstream().auth().orElseThrow().oauth2().orElseThrow();
        assertEquals("refresh_token", o.grantType());
        assertEquals(Optional.of(rt), o.refreshTokenFile());
        // Written by hand with the default umask: readable by everyone.
        assertTrue(c.warnings().stream().anyMatch(w -> w.contains("upstream.oauth2.refresh-token-file")
                && w.contains("readable by every user")), c.warnings().toString());
    }

    @Test
    void mistakesAreNamed() throws Exception {
        Map<String, String> http = clientCredentials();
        http.put("upstream.oauth2.token-url", "http://login.example.net/token");
        assertTrue(problems(http).get(0).contains("expected an https:// URL"), problems(http).toString());

        Map<String, String> both = clientCredentials();
        both.put("upstream.auth.password", "pw");
        assertTrue(problems(both).get(0).contains("the relay logs in with one"), problems(both).toString());

        Map<String, String> noId = clientCredentials();
        noId.remove("upstream.oauth2.client-id");
        assertTrue(problems(noId).get(0).startsWith("upstream.oauth2.client-id is required"), problems(noId).toString());

        Map<String, String> noScope = clientCredentials();
        noScope.remove("upstream.oauth2.scope");
        assertTrue(problems(noScope).get(0).contains("outlook.office365.com/.default"), problems(noScope).toString());

        Map<String, String> noUser = clientCredentials();
        noUser.remove("upstream.auth.username");
        assertTrue(problems(noUser).get(0).contains("XOAUTH2 names the mailbox"), problems(noUser).toString());

        Map<String, String> plain = clientCredentials();
        plain.put("upstream.auth.mechanism", "plain");
        assertTrue(problems(plain).get(0).startsWith("upstream.auth.mechanism = plain: expected xoauth2"),
                problems(plain).toString());

        Map<String, String> tokenWithoutOAuth = new HashMap<>(Map.of("upstream.host", "smtp.office365.com",
                "upstream.auth.username", "u", "upstream.auth.password", "p", "upstream.auth.mechanism", "xoauth2"));
        assertTrue(problems(tokenWithoutOAuth).stream().anyMatch(p -> p.startsWith("upstream.auth.mechanism = xoauth2")),
                problems(tokenWithoutOAuth).toString());

        Map<String, String> stray = new HashMap<>(Map.of("upstream.host", "smtp.office365.com",
                "upstream.oauth2.client-id", "x"));
        assertTrue(problems(stray).get(0).contains("upstream.oauth2.token-url is empty"), problems(stray).toString());

        Map<String, String> missingFile = clientCredentials();
        missingFile.put("upstream.oauth2.refresh-token-file", dir.resolve("nope").toString());
        assertTrue(problems(missingFile).get(0).startsWith("upstream.oauth2.refresh-token-file = "),
                problems(missingFile).toString());
    }

    @Test
    void aPasswordStillUsesPlainThenLoginUnlessOneIsNamed() throws Exception {
        Map<String, String> m = new HashMap<>(Map.of("upstream.host", "smtp.office365.com",
                "upstream.auth.username", "u", "upstream.auth.password-file", write("pw")));
        assertEquals(List.of(RelayConfig.AuthMechanism.PLAIN, RelayConfig.AuthMechanism.LOGIN),
                ConfigLoader.fromValues(m, Map.of()).upstream().auth().orElseThrow().mechanisms());
        m.put("upstream.auth.mechanism", "LOGIN");
        assertEquals(List.of(RelayConfig.AuthMechanism.LOGIN),
                ConfigLoader.fromValues(m, Map.of()).upstream().auth().orElseThrow().mechanisms());
    }

    private String write(String secret) throws Exception {
        Path f = dir.resolve("password");
        Files.writeString(f, secret + "\n");
        return f.toString();
    }
}
