package dev.tlsrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.auth.PasswordHash;
import dev.tlsrelay.auth.UsersFile;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.InboundTlsVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The listen.tls.* and listen.auth.* keys: parsed once, every mistake named, risky choices warned about. */
@Timeout(30)
class LanModeConfigTest {

    @TempDir
    Path dir;

    private final HeldCertificate identity = new CertificateMinter().names("relay.lan").mint();

    private Map<String, String> values(String... pairs) {
        Map<String, String> m = new HashMap<>();
        m.put("upstream.host", "smtp.office365.com");
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return m;
    }

    private String[] tls(HeldCertificate id) throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), id.certificatePem());
        Path key = Files.writeString(dir.resolve("key.pem"), id.privateKeyPem());
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        return new String[] {"listen.tls.cert-file", cert.toString(), "listen.tls.key-file", key.toString()};
    }

    /** A users file with one user, hashed at today's default cost (or cheaply, where the cost is beside the point). */
    private Path users(boolean defaultCost) throws Exception {
        Path f = dir.resolve("users");
        UsersFile.setPassword(f, "scanner", defaultCost ? PasswordHash.create("pw".toCharArray())
                : PasswordHash.create("pw".toCharArray(), 1_000));
        return f;
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static List<String> problems(Map<String, String> values) {
        return assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(values, Map.of())).problems();
    }

    @Test
    void lanModeIsOffByDefault() throws Exception {
        RelayConfig c = ConfigLoader.fromValues(values(), Map.of());
        assertTrue(c.inboundTls().isEmpty());
        assertTrue(c.inboundAuth().isEmpty());
        assertTrue(c.warnings().isEmpty(), c.warnings().toString());
    }

    @Test
    void tlsAndAuthAreReadWithoutWarningsAtSafeSettings() throws Exception {
        RelayConfig c = ConfigLoader.fromValues(values(concat(tls(identity), "listen.auth.users-file",
                users(true).toString(), "listen.auth.required", "true")), Map.of());
        assertEquals(InboundTlsVersion.TLS_1_2, c.inboundTls().get().minVersion());
        assertEquals(identity.certificate(), c.inboundTls().get().identity().certificate());
        assertEquals(new RelayConfig.InboundAuth(dir.resolve("users"), true, false), c.inboundAuth().get());
        assertTrue(c.warnings().isEmpty(), c.warnings().toString());
    }

    @Test
    void legacyVersionsAreAllowedInboundWithAWarning() throws Exception {
        HeldCertificate rsa = new CertificateMinter().rsa().names("relay.lan").mint();
        RelayConfig c = ConfigLoader.fromValues(values(concat(tls(rsa), "listen.tls.min-version", "TLSv1.0")), Map.of());
        assertEquals(InboundTlsVersion.TLS_1_0, c.inboundTls().get().minVersion());
        assertEquals(1, c.warnings().size(), c.warnings().toString());
        String w = c.warnings().get(0);
        assertTrue(w.startsWith("inbound TLS down to TLSv1.0"), w);
        assertTrue(w.contains("RSA key exchange without forward secrecy") && w.contains("upstream side stays TLS 1.2+"), w);
        // The upstream side cannot even be configured that way.
        List<String> p = problems(values("upstream.tls.min-version", "TLSv1.0"));
        assertTrue(p.get(0).startsWith("upstream.tls.min-version = TLSv1.0: expected TLSv1.2 or TLSv1.3"), p.toString());
    }

    @Test
    void everyMistakeIsNamed() throws Exception {
        String[] t = tls(identity);
        assertTrue(problems(values(t[0], t[1])).get(0).contains("go together"));
        HeldCertificate other = new CertificateMinter().names("other.lan").mint();
        Path otherKey = Files.writeString(dir.resolve("other-key.pem"), other.privateKeyPem());
        String mismatch = problems(values(t[0], t[1], t[2], otherKey.toString())).get(0);
        assertTrue(mismatch.contains("does not belong to the first certificate"), mismatch);
        assertTrue(problems(values(concat(t, "listen.tls.min-version", "SSLv3"))).get(0)
                .contains("expected TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3"));
        assertTrue(problems(values("listen.auth.required", "true")).get(0)
                .startsWith("listen.auth.required = true needs listen.auth.users-file"));
        String noTls = problems(values("listen.auth.users-file", users(false).toString())).get(0);
        assertTrue(noTls.contains("AUTH is only offered after STARTTLS and inbound STARTTLS is off"), noTls);
        Files.writeString(dir.resolve("bad-users"), "scanner\n");
        String badLine = problems(values(concat(t, "listen.auth.users-file", dir.resolve("bad-users").toString())))
                .get(0);
        assertTrue(badLine.startsWith("listen.auth.users-file: ") && badLine.contains("line 1: expected user:hash"),
                badLine);
        assertTrue(problems(values(concat(t, "listen.auth.users-file", dir.resolve("missing").toString()))).get(0)
                .startsWith("listen.auth.users-file = " + dir.resolve("missing") + ": expected a readable file"));
    }

    @Test
    void plaintextAuthAndReadableSecretsAreWarnedAbout() throws Exception {
        Path users = users(false);
        Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-r--r--"));
        RelayConfig c = ConfigLoader.fromValues(values("listen.host", "192.0.2.10", "listen.allowed-networks",
                "192.0.2.0/24", "listen.auth.users-file", users.toString(), "listen.auth.allow-plaintext", "true"),
                Map.of());
        assertTrue(c.warnings().stream().anyMatch(w -> w.contains("readable by every user") && w.contains("users")),
                c.warnings().toString());
        assertTrue(c.warnings().stream().anyMatch(w -> w.startsWith("listen.auth.allow-plaintext = true")
                && w.contains("across the network")), c.warnings().toString());
    }
}
