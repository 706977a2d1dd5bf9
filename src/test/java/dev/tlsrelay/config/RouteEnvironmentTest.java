package dev.tlsrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.support.TlsRelayProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code TLSRELAY_ROUTE_<NAME>_<KEY>} overrides keys of the routes the file declares; nothing else. */
@Timeout(60)
class RouteEnvironmentTest {

    @TempDir
    Path dir;

    private Map<String, String> file() {
        Map<String, String> m = new HashMap<>();
        m.put("audit.file", dir.resolve("audit.jsonl").toString());
        m.put("upstream.host", "relay.corp.test");
        m.put("route.scans.senders", "scans@corp.test");
        m.put("route.scans.preset", "microsoft365");
        m.put("route.scan-room.clients", "192.168.20.0/24");
        m.put("route.scan-room.host", "relay.partner.test");
        return m;
    }

    private static Routing.NamedRoute route(RelayConfig c, String name) {
        return c.routing().routes().stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void environmentVariablesSetTheKeysOfDeclaredRoutesAndWinOverTheFile() throws Exception {
        RelayConfig c = ConfigLoader.fromValues(file(), Map.of(
                "TLSRELAY_ROUTE_SCANS_HOST", "127.0.0.1",
                "TLSRELAY_ROUTE_SCANS_PORT", "2587",
                "TLSRELAY_ROUTE_SCANS_AUTH_USERNAME", "scans@corp.test",
                "TLSRELAY_ROUTE_SCANS_AUTH_PASSWORD", "env-secret",
                "TLSRELAY_ROUTE_SCANS_SENDERS", "scans@corp.test, @scan.corp.test",
                "TLSRELAY_ROUTE_SCAN_ROOM_HOST", "relay2.partner.test",
                "TLSRELAY_ROUTE_SCAN_ROOM_MAX_CONNECTIONS", "2"));
        Routing.NamedRoute scans = route(c, "scans");
        assertEquals("127.0.0.1", scans.upstream().primary().host());
        assertEquals(2587, scans.upstream().primary().port());
        RelayConfig.Credentials auth = scans.upstream().auth().orElseThrow();
        assertEquals("env-secret", auth.password().orElseThrow().value());
        assertEquals(List.of("scans@corp.test", "@scan.corp.test"), scans.selectors().senders());
        assertEquals(30, scans.limits().messagesPerMinute(), "the file's preset still applies");
        assertTrue(scans.settings().contains(new Routing.RouteSetting("route.scans.auth.password", "********",
                RelayConfig.Origin.ENVIRONMENT)), scans.settings().toString());
        assertTrue(scans.settings().contains(new Routing.RouteSetting("route.scans.host", "127.0.0.1",
                RelayConfig.Origin.ENVIRONMENT)), scans.settings().toString());
        assertFalse(scans.settings().toString().contains("env-secret"));
        assertTrue(c.warnings().stream().noneMatch(w -> w.contains("written in the config file")), c.warnings()
                .toString());

        Routing.NamedRoute room = route(c, "scan-room");
        assertEquals("relay2.partner.test", room.upstream().primary().host());
        assertEquals(2, room.upstream().pool().maxConnections());
    }

    @Test
    void aVariableThatNamesNoDeclaredRouteKeyIsAnErrorThatNeverShowsItsValue() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(file(), Map.of(
                "TLSRELAY_ROUTE_SCANS_AUTH_PASWORD", "typo-secret",
                "TLSRELAY_ROUTE_PRINTERS_HOST", "relay.test",
                "TLSRELAY_ROUTE_DEFAULT_HOST", "relay.test")));
        String all = String.join("\n", e.problems());
        assertTrue(all.matches("(?s).*TLSRELAY_ROUTE_SCANS_AUTH_PASWORD is set but names no route key \\(did you"
                + " mean TLSRELAY_ROUTE_SCANS_AUTH_PASSWORD\\?\\): expected TLSRELAY_ROUTE_<NAME>_<KEY> for a route"
                + " declared in the config file \\((scans, scan-room|scan-room, scans)\\) and one of its keys, e\\.g\\."
                + " TLSRELAY_ROUTE_SCAN(S|_ROOM)_AUTH_PASSWORD.*"), all);
        assertTrue(all.contains("TLSRELAY_ROUTE_PRINTERS_HOST is set but names no route key: expected"), all);
        assertTrue(all.contains("TLSRELAY_ROUTE_DEFAULT_HOST is set but names no route key (the default route is"
                + " upstream.*: use TLSRELAY_UPSTREAM_...)"), all);
        assertFalse(all.contains("typo-secret"), all);

        Map<String, String> noRoutes = new HashMap<>(Map.of("audit.file", dir.resolve("a.jsonl").toString(),
                "upstream.host", "relay.corp.test"));
        e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(noRoutes,
                Map.of("TLSRELAY_ROUTE_SCANS_HOST", "relay.test")));
        assertEquals(List.of("TLSRELAY_ROUTE_SCANS_HOST is set but names no route key: expected no route is declared"
                + " in the config file; routes are declared there (route.NAME.senders, ...) and"
                + " TLSRELAY_ROUTE_<NAME>_<KEY> only overrides their keys"), e.problems());
    }

    @Test
    void routeNamesThatCollideOnceUpperCasedMakeTheirVariableAnError() {
        Map<String, String> m = file();
        m.put("route.lab.clients", "192.168.30.0/24");
        m.put("route.lab.host", "lab.corp.test");
        m.put("route.lab-pool.clients", "192.168.31.0/24");
        m.put("route.lab-pool.host", "pool.corp.test");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m,
                Map.of("TLSRELAY_ROUTE_LAB_POOL_MAX_CONNECTIONS", "2")));
        assertEquals(List.of("TLSRELAY_ROUTE_LAB_POOL_MAX_CONNECTIONS is ambiguous: it could set"
                + " route.lab.pool.max-connections or route.lab-pool.max-connections; rename one of those routes"),
                e.problems());
    }

    @Test
    void aRoutesProblemsNameItsOwnVariables() {
        Map<String, String> m = file();
        m.remove("route.scan-room.host");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of(
                "TLSRELAY_ROUTE_SCANS_PORT", "99999")));
        String all = String.join("\n", e.problems());
        assertTrue(all.contains("route.scan-room.host (or route.scan-room.hosts) is required (smarthost name; verified"
                + " against its certificate); set it in the config file or TLSRELAY_ROUTE_SCAN_ROOM_HOST"), all);
        assertTrue(all.contains("route.scans.port = 99999: expected a port number"), all);
    }

    @Test
    void checkConfigShowsRouteKeysFromTheEnvironmentWithSecretsMasked() throws Exception {
        Path conf = dir.resolve("tlsrelay.properties");
        Files.writeString(conf, String.join("\n",
                "audit.file = " + dir.resolve("audit.jsonl"),
                "upstream.host = relay.corp.test",
                "route.scans.senders = scans@corp.test",
                "route.scans.preset = microsoft365",
                ""));
        try (TlsRelayProcess p = TlsRelayProcess.start(dir, Map.of(
                "TLSRELAY_ROUTE_SCANS_AUTH_USERNAME", "scans@corp.test",
                "TLSRELAY_ROUTE_SCANS_AUTH_PASSWORD", "env-hunter2"), "check-config", "--config", conf.toString())) {
            assertEquals(0, p.waitFor(Duration.ofSeconds(30)), p.output());
            String text = p.output();
            assertTrue(text.matches("(?s).*\\nroute\\.scans\\.auth\\.username += scans@corp\\.test +# environment\\n.*"),
                    text);
            assertTrue(text.matches("(?s).*\\nroute\\.scans\\.auth\\.password += \\*{8} +# environment\\n.*"), text);
            assertTrue(text.matches("(?s).*\\nroute\\.scans\\.auth\\.mechanism += login +# preset\\n.*"), text);
            assertFalse(text.contains("env-hunter2"), text);
        }
    }
}
