package dev.tlsrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.audit.AuditKey;
import dev.tlsrelay.audit.Rotation;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsVersion;
import dev.tlsrelay.tls.VerifyMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    @TempDir
    Path dir;

    private static Map<String, String> minimal() {
        Map<String, String> m = new HashMap<>();
        m.put("upstream.host", "smtp.office365.com");
        return m;
    }

    @Test
    void defaultsAreSecure() throws Exception {
        RelayConfig c = ConfigLoader.fromValues(minimal(), Map.of());
        assertEquals("127.0.0.1", c.listen().host().getHostAddress());
        assertEquals(2525, c.listen().port());
        assertEquals(List.of(Cidr.parse("127.0.0.0/8"), Cidr.parse("::1/128")), c.listen().allowedNetworks());
        assertEquals(25L * 1024 * 1024, c.listen().maxMessageSize());
        assertEquals(Duration.ofSeconds(60), c.listen().timeout());
        assertEquals(TlsMode.STARTTLS, c.upstream().primary().security());
        assertEquals(587, c.upstream().primary().port());
        assertEquals(TlsVersion.TLS_1_2, c.upstream().tls().minVersion());
        assertEquals(VerifyMode.FULL, c.upstream().tls().verify());
        assertTrue(c.upstream().auth().isEmpty());
        assertTrue(c.warnings().isEmpty(), c.warnings().toString());
    }

    @Test
    void auditSettingsAreCheckedTogether() throws Exception {
        RelayConfig defaults = ConfigLoader.fromValues(minimal(), Map.of());
        assertEquals(new Rotation(100L * 1024 * 1024, false, 0), defaults.audit().rotation());
        assertTrue(defaults.audit().hmacKey().isEmpty() && defaults.audit().redactionKey().isEmpty());

        Path chainKey = dir.resolve("chain.key");
        Files.writeString(chainKey, "q1F0v7oH1t7yC9k2m9d3Xc8wzLr4b6N5u1pQe0sTa2Y=\n");
        Map<String, String> m = minimal();
        m.put("audit.rotate.max-size", "1MiB");
        m.put("audit.rotate.daily", "true");
        m.put("audit.max-history", "90");
        m.put("audit.hmac-key-file", chainKey.toString());
        m.put("audit.redact-addresses", "true");
        m.put("audit.redaction-key-file", chainKey.toString());
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        assertEquals(new Rotation(1024 * 1024, true, 90), c.audit().rotation());
        assertEquals(AuditKey.read(chainKey).id(), c.audit().hmacKey().orElseThrow().id());
        assertTrue(c.audit().redactionKey().isPresent());
        assertTrue(c.warnings().stream().anyMatch(w -> w.contains("hold the same key")), c.warnings().toString());

        Path shortKey = dir.resolve("short.key");
        Files.writeString(shortKey, "c2hvcnQ=\n");
        Map<String, String> bad = minimal();
        bad.put("audit.rotate.daily", "sometimes");
        bad.put("audit.rotate.max-size", "0");
        bad.put("audit.max-history", "3");
        bad.put("audit.hmac-key-file", shortKey.toString());
        bad.put("audit.redact-addresses", "true");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(bad, Map.of()));
        String all = String.join("\n", e.problems());
        assertTrue(all.contains("audit.rotate.daily = sometimes: expected true or false"), all);
        assertTrue(all.contains("audit.hmac-key-file = " + shortKey + ": expected a readable file whose first line is a"
                + " base64 key of at least 32 bytes (the key has 5 bytes"), all);
        assertTrue(all.contains("audit.redact-addresses = true needs audit.redaction-key-file"), all);
        assertTrue(all.contains("audit.max-history = 3 but the audit file is never rotated"), all);
        assertEquals(4, e.problems().size(), all);
    }

    @Test
    void implicitModeDefaultsToPort465() throws Exception {
        Map<String, String> m = minimal();
        m.put("upstream.security", "implicit");
        assertEquals(465, ConfigLoader.fromValues(m, Map.of()).upstream().primary().port());
    }

    @Test
    void upstreamHostsListsSmarthostsInOrderWithTheirModes() throws Exception {
        Map<String, String> m = new HashMap<>();
        m.put("upstream.hosts", "a.corp.test:587, b.corp.test:465, c.corp.test, [::1]:2525/implicit, d.corp.test/implicit");
        List<RelayConfig.Route> routes = ConfigLoader.fromValues(m, Map.of()).upstream().routes();
        assertEquals(List.of(
                new RelayConfig.Route("a.corp.test", 587, TlsMode.STARTTLS),
                new RelayConfig.Route("b.corp.test", 465, TlsMode.IMPLICIT),
                new RelayConfig.Route("c.corp.test", 587, TlsMode.STARTTLS),
                new RelayConfig.Route("[::1]", 2525, TlsMode.IMPLICIT),
                new RelayConfig.Route("d.corp.test", 465, TlsMode.IMPLICIT)), routes);

        m.put("upstream.host", "e.corp.test");
        ConfigException both = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertTrue(both.getMessage().contains("are both set"), both.getMessage());

        ConfigException bad = assertThrows(ConfigException.class,
                () -> ConfigLoader.fromValues(Map.of("upstream.hosts", "a.corp.test:99999"), Map.of()));
        assertTrue(bad.getMessage().startsWith("upstream.hosts = a.corp.test:99999: expected HOST[:PORT]"),
                bad.getMessage());
    }

    @Test
    void spoolSettingsAreValidated() throws Exception {
        RelayConfig c = ConfigLoader.fromValues(minimal(), Map.of());
        assertEquals(RelayConfig.DeliveryMode.SPOOL, c.deliveryMode());
        assertEquals(Duration.ofDays(5), c.spool().maxAge());
        assertEquals(Duration.ofMinutes(1), c.spool().retryInitial());
        assertFalse(c.spool().bounce());
        Map<String, String> m = minimal();
        m.put("delivery.mode", "store");
        m.put("spool.retry.initial", "2h");
        m.put("spool.bounce", "maybe");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertTrue(e.getMessage().contains("delivery.mode = store: expected spool or pass-through"), e.getMessage());
        assertTrue(e.getMessage().contains("spool.retry.max-interval = 1h: expected at least spool.retry.initial"),
                e.getMessage());
        assertTrue(e.getMessage().contains("spool.bounce = maybe: expected true or false"), e.getMessage());
        m.clear();
        m.putAll(minimal());
        m.put("delivery.mode", "pass-through");
        assertEquals(RelayConfig.DeliveryMode.PASS_THROUGH, ConfigLoader.fromValues(m, Map.of()).deliveryMode());
    }

    @Test
    void everyProblemIsReportedAtOnceWithItsKey() {
        Map<String, String> m = minimal();
        m.put("listen.port", "99999");
        m.put("upstream.security", "plaintext");
        m.put("upstream.tls.min-version", "TLSv1.1");
        m.put("listen.max-message-size", "lots");
        m.put("listen.timeout", "forever");
        m.put("upstream.tls.verify", "none");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        String all = String.join("\n", e.problems());
        assertEquals(6, e.problems().size(), all);
        assertTrue(all.contains("listen.port = 99999: expected a port number"), all);
        assertTrue(all.contains("upstream.security = plaintext: expected starttls or implicit"), all);
        assertTrue(all.contains("upstream.tls.min-version = TLSv1.1: expected TLSv1.2 or TLSv1.3"), all);
        assertTrue(all.contains("listen.max-message-size = lots"), all);
        assertTrue(all.contains("listen.timeout = forever"), all);
        assertTrue(all.contains("upstream.tls.verify = none: expected full or pin"), all);
    }

    @Test
    void missingUpstreamHostIsNamed() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(Map.of(), Map.of()));
        assertTrue(e.problems().get(0).startsWith("upstream.host (or upstream.hosts) is required"), e.getMessage());
        assertTrue(e.problems().get(0).contains("TLSRELAY_UPSTREAM_HOST"), e.getMessage());
    }

    @Test
    void unknownKeyIsAnErrorWithASuggestion() {
        Map<String, String> m = minimal();
        m.put("upstream.tls.verfy", "full");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertTrue(e.getMessage().contains("upstream.tls.verfy: unknown key (did you mean upstream.tls.verify?)"),
                e.getMessage());
    }

    @Test
    void aMisspeltEnvironmentVariableIsAnErrorThatNeverShowsItsValue() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(minimal(),
                Map.of("TLSRELAY_UPSTREAM_AUTH_PASWORD", "s3cret-value", "TLSRELAY_UPSTREAM_AUTH_USERNAME", "dev")));
        assertTrue(e.getMessage().contains("TLSRELAY_UPSTREAM_AUTH_PASWORD: environment variable names no config key"
                + " (did you mean TLSRELAY_UPSTREAM_AUTH_PASSWORD?)"), e.getMessage());
        assertFalse(e.getMessage().contains("s3cret-value"), e.getMessage());
    }

    @Test
    void variablesThatAreKeysOrTheLogLevelAreAccepted() throws ConfigException {
        RelayConfig c = ConfigLoader.fromValues(minimal(),
                Map.of("TLSRELAY_LISTEN_PORT", "2600", "TLSRELAY_LOG_LEVEL", "DEBUG", "PATH", "/usr/bin"));
        assertEquals(2600, c.listen().port());
    }

    @Test
    void openRelayOnANetworkAddressIsRefused() {
        Map<String, String> m = minimal();
        m.put("listen.host", "0.0.0.0");
        m.put("listen.allowed-networks", "0.0.0.0/0");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertTrue(e.getMessage().contains("listen.allowed-networks = 0.0.0.0/0: allows every address"),
                e.getMessage());
        assertTrue(e.getMessage().contains("open relay"), e.getMessage());
    }

    @Test
    void lanListenerIsAllowedButWarnedAbout() throws Exception {
        Map<String, String> m = minimal();
        m.put("listen.host", "0.0.0.0");
        m.put("listen.allowed-networks", "192.168.10.0/24");
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        assertEquals(1, c.warnings().size());
        assertTrue(c.warnings().get(0).contains("reachable from the network"));
    }

    @Test
    void pinModeNeedsAPinAndIsWarnedAbout() throws Exception {
        Map<String, String> m = minimal();
        m.put("upstream.tls.verify", "pin");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertTrue(e.getMessage().contains("upstream.tls.verify = pin: expected pins in upstream.tls.pin-sha256"),
                e.getMessage());

        m.put("upstream.tls.pin-sha256", "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        assertEquals(1, c.upstream().tls().pins().size());
        assertTrue(c.warnings().stream().anyMatch(w -> w.contains("pin alone")));
    }

    @Test
    void badPinIsNamed() {
        Map<String, String> m = minimal();
        m.put("upstream.tls.pin-sha256", "not-a-pin");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertTrue(e.getMessage().startsWith("upstream.tls.pin-sha256 = not-a-pin: expected"), e.getMessage());
    }

    @Test
    void unreadableCaFileAndPasswordFileAreNamed() {
        Map<String, String> m = minimal();
        m.put("upstream.tls.ca-file", dir.resolve("missing-ca.pem").toString());
        m.put("upstream.auth.username", "relay@office.test");
        m.put("upstream.auth.password-file", dir.resolve("missing-password").toString());
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertEquals(2, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains("upstream.tls.ca-file = " + dir.resolve("missing-ca.pem")));
        assertTrue(e.getMessage().contains("upstream.auth.password-file = " + dir.resolve("missing-password")));
    }

    @Test
    void passwordComesFromItsFileAndIsNeverShown() throws Exception {
        Path pw = dir.resolve("pw");
        Files.writeString(pw, "hunter2-secret\n");
        Map<String, String> m = minimal();
        m.put("upstream.auth.username", "relay@office.test");
        m.put("upstream.auth.password-file", pw.toString());
        java.nio.file.Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        assertEquals("hunter2-secret", c.upstream().auth().orElseThrow().password().orElseThrow().value());
        assertTrue(c.warnings().stream().anyMatch(w -> w.contains("readable by every user")), c.warnings().toString());
        java.nio.file.Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertTrue(ConfigLoader.fromValues(m, Map.of()).warnings().isEmpty());
        assertFalse(c.toString().contains("hunter2-secret"));

        Map<String, String> inline = minimal();
        inline.put("upstream.auth.username", "relay@office.test");
        inline.put("upstream.auth.password", "hunter2-secret");
        RelayConfig c2 = ConfigLoader.fromValues(inline, Map.of());
        assertFalse(c2.toString().contains("hunter2-secret"));
        assertTrue(c2.warnings().stream().anyMatch(w -> w.contains("upstream.auth.password is written in the config")),
                c2.warnings().toString());
        assertTrue(c2.settings().stream().filter(s -> s.key() == Key.UPSTREAM_AUTH_PASSWORD)
                .allMatch(s -> s.shown().equals("********")));
    }

    @Test
    void environmentOverridesTheFile() throws Exception {
        Map<String, String> env = Map.of("TLSRELAY_LISTEN_PORT", "2626", "TLSRELAY_UPSTREAM_TLS_MIN_VERSION", "TLSv1.3");
        RelayConfig c = ConfigLoader.fromValues(minimal(), env);
        assertEquals(2626, c.listen().port());
        assertEquals(TlsVersion.TLS_1_3, c.upstream().tls().minVersion());
        assertEquals(RelayConfig.Origin.ENVIRONMENT, c.settings().stream()
                .filter(s -> s.key() == Key.LISTEN_PORT).findFirst().orElseThrow().origin());
        assertEquals("TLSRELAY_UPSTREAM_AUTH_PASSWORD_FILE", Key.UPSTREAM_AUTH_PASSWORD_FILE.environmentVariable());
    }

    @Test
    void shippedConfigLoadsAndNamesItsExampleValues() throws Exception {
        RelayConfig c = ConfigLoader.load(Path.of("conf/tlsrelay.properties"), Map.of());
        assertEquals(List.of(Key.UPSTREAM_HOST), c.exampleSettings().stream().map(RelayConfig.Setting::key).toList());
        assertEquals(2525, c.listen().port());
    }

    @Test
    void shippedConfigDocumentsEveryKey() throws Exception {
        String shipped = Files.readString(Path.of("conf/tlsrelay.properties"));
        for (Key k : Key.values()) {
            assertTrue(shipped.contains("\n" + k.key() + " ="), "conf/tlsrelay.properties lacks " + k.key());
        }
    }

    @Test
    void missingConfigFileIsNamed() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(dir.resolve("nope.properties"), Map.of()));
        assertTrue(e.getMessage().contains("nope.properties does not exist"), e.getMessage());
    }

    @Test
    void sizesAndDurationsParse() {
        assertEquals(1024L, Units.parseSize("1k"));
        assertEquals(10L * 1024 * 1024, Units.parseSize("10MiB"));
        assertEquals(10L * 1024 * 1024, Units.parseSize("10MB"));
        assertEquals(123L, Units.parseSize("123"));
        assertEquals(Duration.ofMillis(500), Units.parseDuration("500ms"));
        assertEquals(Duration.ofDays(5), Units.parseDuration("5d"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("5"));
    }

    @Test
    void cidrMatching() {
        Cidr lan = Cidr.parse("192.168.10.0/24");
        assertTrue(lan.contains(addr("192.168.10.77")));
        assertFalse(lan.contains(addr("192.168.11.1")));
        assertFalse(lan.contains(addr("::1")));
        assertTrue(Cidr.parse("::1/128").contains(addr("::1")));
        assertTrue(Cidr.parse("127.0.0.0/8").isLoopbackOnly());
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("mail.office.test/24"));
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("10.0.0.0/33"));
    }

    private static java.net.InetAddress addr(String s) {
        try {
            return java.net.InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
