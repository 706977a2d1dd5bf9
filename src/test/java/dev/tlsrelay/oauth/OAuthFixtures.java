package dev.tlsrelay.oauth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.tlsrelay.support.OAuthProvider;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.XOAuth2Upstream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/** Settings and checks shared by the OAuth tests: a relay pointed at a test provider and upstream. */
final class OAuthFixtures {

    static final String MAILBOX = "scanner@office.test";
    static final String SENDER = "printer@office.test";
    static final String RECIPIENT = "admin@office.test";

    private OAuthFixtures() {}

    /** Client credentials grant (Microsoft 365 app registration style). */
    static Map<String, String> clientCredentials(Path dir, TestPki pki, OAuthProvider idp, XOAuth2Upstream upstream)
            throws Exception {
        Map<String, String> m = common(dir, pki, idp, upstream);
        m.put("upstream.oauth2.scope", OAuthProvider.SCOPE);
        return m;
    }

    /** Refresh token grant, the file holding a freshly issued refresh token. */
    static Map<String, String> refreshToken(Path dir, TestPki pki, OAuthProvider idp, XOAuth2Upstream upstream)
            throws Exception {
        Map<String, String> m = common(dir, pki, idp, upstream);
        Path file = refreshTokenFile(dir);
        RefreshTokenFile.write(file, idp.issueRefreshToken());
        m.put("upstream.oauth2.refresh-token-file", file.toString());
        return m;
    }

    static Path refreshTokenFile(Path dir) {
        return dir.resolve("oauth").resolve("refresh-token");
    }

    private static Map<String, String> common(Path dir, TestPki pki, OAuthProvider idp, XOAuth2Upstream upstream)
            throws Exception {
        Path ca = pki.writeCa(dir);
        Path secret = dir.resolve("client-secret");
        Files.writeString(secret, OAuthProvider.CLIENT_SECRET + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Map<String, String> m = new HashMap<>();
        m.put("upstream.host", "127.0.0.1");
        m.put("upstream.port", String.valueOf(upstream.port()));
        m.put("upstream.security", "starttls");
        m.put("upstream.tls.ca-file", ca.toString());
        m.put("upstream.auth.username", MAILBOX);
        m.put("upstream.oauth2.token-url", idp.tokenUri().toString());
        m.put("upstream.oauth2.client-id", OAuthProvider.CLIENT_ID);
        m.put("upstream.oauth2.client-secret-file", secret.toString());
        m.put("upstream.oauth2.ca-file", ca.toString());
        return m;
    }

    /**
     * No token, refresh token, code or client secret the provider ever issued, and no XOAUTH2
     * initial response built from a token, appears in {@code text}.
     */
    static void assertNoSecrets(String where, String text, OAuthProvider idp) {
        assertFalse(text.isBlank(), where + " was written");
        Base64.Encoder b64 = Base64.getEncoder();
        for (String s : idp.secrets()) {
            assertFalse(text.contains(s), where + " contains a secret: " + s.substring(0, 4) + "...");
        }
        for (String t : idp.accessTokens()) {
            String xoauth2 = b64.encodeToString(("user=" + MAILBOX + "\u0001auth=Bearer " + t + "\u0001\u0001")
                    .getBytes(StandardCharsets.UTF_8));
            assertFalse(text.contains(xoauth2), where + " contains an XOAUTH2 initial response");
        }
    }

    static void assertOwnerOnly(Path file) throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)),
                file + " must be readable by its owner only");
    }

    /** Settings on top of others (later wins). */
    static Map<String, String> with(Map<String, String> base, String... pairs) {
        Map<String, String> m = new HashMap<>(base);
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return m;
    }
}
