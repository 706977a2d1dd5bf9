package dev.tlsrelay.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Presets expand under explicit keys; named routes are validated like the default upstream. */
@Timeout(30)
class PresetAndRouteConfigTest {

    @TempDir
    Path dir;

    private Map<String, String> base() {
        Map<String, String> m = new HashMap<>();
        m.put("audit.file", dir.resolve("audit.jsonl").toString());
        return m;
    }

    private static RelayConfig.Setting setting(RelayConfig c, Key key) {
        return c.settings().stream().filter(s -> s.key() == key).findFirst().orElseThrow();
    }

    @Test
    void microsoft365FillsHostPortAndLimitsAndExplicitKeysWin() throws Exception {
        Map<String, String> m = base();
        m.put("upstream.preset", "microsoft365");
        m.put("upstream.rate.recipients-per-day", "5000");
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        assertEquals("smtp.office365.com", c.upstream().primary().host());
        assertEquals(587, c.upstream().primary().port());
        assertEquals(3, c.upstream().pool().maxConnections());
        assertEquals(30, c.routing().defaultLimits().messagesPerMinute());
        assertEquals(5000, c.routing().defaultLimits().recipientsPerDay());
        assertEquals(RelayConfig.Origin.PRESET, setting(c, Key.UPSTREAM_HOST).origin());
        assertEquals(RelayConfig.Origin.PRESET, setting(c, Key.UPSTREAM_POOL_MAX_CONNECTIONS).origin());
        assertEquals(RelayConfig.Origin.FILE, setting(c, Key.UPSTREAM_RATE_RECIPIENTS_PER_DAY).origin());
        assertEquals(RelayConfig.Origin.DEFAULT, setting(c, Key.UPSTREAM_RATE_MAX_WAIT).origin());
    }

    @Test
    void amazonSesNeedsARegionAndBuildsItsEndpointFromIt() throws Exception {
        Map<String, String> m = base();
        m.put("upstream.preset", "amazon-ses");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertTrue(e.problems().stream().anyMatch(p -> p.contains("upstream.region")), e.problems().toString());

        m.put("upstream.region", "eu-west-1");
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        assertEquals("email-smtp.eu-west-1.amazonaws.com", c.upstream().primary().host());
        assertEquals(40_000_000, c.routing().defaultLimits().maxMessageSize());
        assertEquals(50, c.routing().defaultLimits().maxRecipientsPerMessage());

        m.put("upstream.region", "Europe");
        e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertTrue(e.problems().get(0).startsWith("upstream.region = Europe: expected an AWS region"),
                e.problems().toString());
    }

    @Test
    void anUnknownPresetNamesTheKnownOnes() {
        Map<String, String> m = base();
        m.put("upstream.preset", "hotmail");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertTrue(e.problems().contains("upstream.preset = hotmail: expected one of microsoft365, gmail,"
                + " google-workspace-relay, amazon-ses"), e.problems().toString());
    }

    @Test
    void namedRoutesAreParsedInOrderWithTheirOwnKeysAndNothingInherited() throws Exception {
        Map<String, String> m = base();
        m.put("upstream.host", "relay.corp.test");
        m.put("upstream.auth.username", "default@corp.test");
        m.put("upstream.auth.password", "secret");
        m.put("route.scans.senders", "scans@corp.test, @scan.corp.test");
        m.put("route.scans.preset", "microsoft365");
        m.put("route.partner.recipient-domains", "Partner.TEST");
        m.put("route.partner.host", "relay.partner.test");
        m.put("route.partner.max-connections", "2");
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        List<Routing.NamedRoute> routes = c.routing().routes();
        assertEquals(List.of("scans", "partner"), routes.stream().map(Routing.NamedRoute::name).toList());
        assertEquals("smtp.office365.com", routes.get(0).upstream().primary().host());
        assertEquals(30, routes.get(0).limits().messagesPerMinute());
        assertTrue(routes.get(0).upstream().auth().isEmpty(), "a route never inherits upstream.auth.*");
        assertEquals(List.of("partner.test"), routes.get(1).selectors().recipientDomains());
        assertEquals(2, routes.get(1).upstream().pool().maxConnections());
        assertTrue(routes.get(0).settings().contains(new Routing.RouteSetting("route.scans.host",
                "smtp.office365.com", RelayConfig.Origin.PRESET)), routes.get(0).settings().toString());
    }

    @Test
    void routeProblemsNameTheRouteKeys() {
        Map<String, String> m = base();
        m.put("upstream.host", "relay.corp.test");
        m.put("route.lab.clients", "192.168.20.0/33");
        m.put("route.lab.port", "99999");
        m.put("route.lab.hots", "x");
        m.put("route.empty.host", "relay.test");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        String all = String.join("\n", e.problems());
        assertTrue(all.contains("route.lab.clients = 192.168.20.0/33: expected CIDR networks"), all);
        assertTrue(all.contains("route.lab.port = 99999: expected a port number"), all);
        assertTrue(all.contains("route.lab.hots: unknown route key"), all);
        assertTrue(all.contains("route.lab.host (or route.lab.hosts) is required"), all);
        assertTrue(all.contains("route empty has no selector"), all);
        assertTrue(!all.contains("TLSRELAY_UPSTREAM"), all);
    }

    @Test
    void checkConfigShowsPresetValuesAndRoutesAndRouteExplainsTheChoice() throws Exception {
        Path conf = dir.resolve("tlsrelay.properties");
        Files.writeString(conf, String.join("\n",
                "audit.file = " + dir.resolve("audit.jsonl"),
                "upstream.preset = amazon-ses",
                "upstream.region = us-east-2",
                "route.scans.senders = scans@corp.test",
                "route.scans.preset = microsoft365",
                "route.scans.auth.username = scans@corp.test",
                "route.scans.auth.password = hunter2",
                "route.partner.recipient-domains = partner.test",
                "route.partner.host = relay.partner.test",
                "route.lab.clients = 192.168.20.0/24",
                "route.lab.preset = gmail",
                ""));
        StringWriter out = new StringWriter();
        assertEquals(0, Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), "check-config",
                "--config", conf.toString()));
        String text = out.toString();
        assertTrue(text.matches("(?s).*\\nupstream\\.host +=  ?email-smtp\\.us-east-2\\.amazonaws\\.com +# preset\\n.*"),
                text);
        assertTrue(text.matches("(?s).*\\nroute\\.scans\\.pool\\.max-connections += 3 +# preset\\n.*"), text);
        assertTrue(text.matches("(?s).*\\nroute\\.scans\\.auth\\.password += \\*{8} +# file\\n.*"), text);
        assertTrue(text.matches("(?s).*\\nroute\\.scans\\.auth\\.mechanism += login +# preset\\n.*"), text);
        assertTrue(!text.contains("hunter2"), text);
        assertTrue(text.contains("# route scans: senders [scans@corp.test]"), text);

        out = new StringWriter();
        assertEquals(0, Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), "route", "--config",
                conf.toString(), "--from", "printer@corp.test", "--to", "bob@partner.test"));
        assertEquals(String.join("\n",
                "route:      partner",
                "why:        route partner matches: recipient domain partner.test is in [partner.test] (not scans:"
                        + " sender <printer@corp.test> is not in [scans@corp.test])",
                "smarthosts: [relay.partner.test:587/starttls]",
                "auth:       none",
                "limits:     messages-per-minute unlimited, recipients-per-day unlimited, max-message-size"
                        + " unlimited, max-recipients-per-message unlimited, max-connections 5",
                ""), out.toString());

        out = new StringWriter();
        Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), "route", "--config", conf.toString(),
                "--from", "Scans@Corp.test", "--to", "bob@partner.test");
        assertTrue(out.toString().startsWith("route:      scans\nwhy:        route scans matches: sender"
                + " <Scans@Corp.test> is in [scans@corp.test]\n"), out.toString());
        assertTrue(out.toString().contains("auth:       scans@corp.test, LOGIN (microsoft365 preset; PLAIN if the"
                + " server does not offer LOGIN)\n"), out.toString());
        assertTrue(!out.toString().contains("hunter2"), out.toString());
        assertTrue(out.toString().contains("messages-per-minute 30, recipients-per-day 10000"), out.toString());

        out = new StringWriter();
        Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), "route", "--config", conf.toString(),
                "--from", "app@corp.test", "--to", "bob@else.test", "--client", "192.168.20.7");
        assertTrue(out.toString().startsWith("route:      lab\n"), out.toString());

        out = new StringWriter();
        Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), "route", "--config", conf.toString(),
                "--from", "app@corp.test", "--to", "bob@else.test", "--client", "10.0.0.1");
        assertTrue(out.toString().startsWith("route:      default\nwhy:        no named route matches"),
                out.toString());
        assertTrue(out.toString().contains("smarthosts: [email-smtp.us-east-2.amazonaws.com:587/starttls]"),
                out.toString());
    }

    @Test
    void routeShowsTheAuthMechanismAndWhereItComesFrom() throws Exception {
        Path conf = dir.resolve("tlsrelay.properties");
        Path secret = dir.resolve("client-secret");
        Files.writeString(secret, "s3cret\n");
        Files.writeString(conf, String.join("\n",
                "audit.file = " + dir.resolve("audit.jsonl"),
                "upstream.host = relay.corp.test",
                "upstream.auth.username = printer@corp.test",
                "upstream.auth.password = hunter2",
                "route.fixed.senders = fixed@corp.test",
                "route.fixed.host = relay.fixed.test",
                "route.fixed.auth.username = fixed@corp.test",
                "route.fixed.auth.password = hunter3",
                "route.fixed.auth.mechanism = login",
                "route.oauth.senders = oauth@corp.test",
                "route.oauth.preset = microsoft365",
                "route.oauth.auth.username = oauth@corp.test",
                "route.oauth.oauth2.token-url = https://login.idp.test/token",
                "route.oauth.oauth2.client-id = relay",
                "route.oauth.oauth2.client-secret-file = " + secret,
                "route.oauth.oauth2.scope = https://outlook.office365.com/.default",
                ""));
        Map<String, String> auth = Map.of(
                "printer@corp.test", "printer@corp.test, PLAIN (no preset or upstream.auth.mechanism; LOGIN if the"
                        + " server does not offer PLAIN)",
                "fixed@corp.test", "fixed@corp.test, LOGIN (set by route.fixed.auth.mechanism; the only one tried)",
                "oauth@corp.test", "oauth@corp.test, XOAUTH2 (OAuth 2.0 access tokens; the only one tried)");
        for (Map.Entry<String, String> e : auth.entrySet()) {
            StringWriter out = new StringWriter();
            assertEquals(0, Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), "route",
                    "--config", conf.toString(), "--from", e.getKey(), "--to", "bob@else.test"));
            assertTrue(out.toString().contains("\nauth:       " + e.getValue() + "\n"), out.toString());
            assertTrue(!out.toString().matches("(?s).*(hunter|s3cret).*"), out.toString());
        }
    }

    @Test
    void bothSpellingsOfARoutesMaxConnectionsMustAgree() throws Exception {
        Map<String, String> m = base();
        m.put("upstream.host", "relay.corp.test");
        m.put("route.lab.clients", "192.168.20.0/24");
        m.put("route.lab.host", "relay.lab.test");
        m.put("route.lab.max-connections", "2");
        m.put("route.lab.pool.max-connections", "2");
        assertEquals(2, ConfigLoader.fromValues(m, Map.of()).routing().routes().get(0).upstream().pool()
                .maxConnections(), "the same value twice is harmless");

        m.put("route.lab.pool.max-connections", "4");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertEquals(List.of("route.lab.max-connections = 2 and route.lab.pool.max-connections = 4 disagree:"
                + " max-connections is short for pool.max-connections; keep one of them"), e.problems());

        m.remove("route.lab.max-connections");
        m.remove("route.lab.pool.max-connections");
        e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of(
                "TLSRELAY_ROUTE_LAB_MAX_CONNECTIONS", "3", "TLSRELAY_ROUTE_LAB_POOL_MAX_CONNECTIONS", "1")));
        assertEquals(List.of("TLSRELAY_ROUTE_LAB_MAX_CONNECTIONS = 3 and TLSRELAY_ROUTE_LAB_POOL_MAX_CONNECTIONS = 1"
                + " disagree: max-connections is short for pool.max-connections; keep one of them"), e.problems());

        // The default upstream has one spelling only: the short one is an unknown key, never a silent alias.
        Map<String, String> d = base();
        d.put("upstream.host", "relay.corp.test");
        d.put("upstream.max-connections", "2");
        e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(d, Map.of()));
        assertTrue(e.problems().get(0).startsWith("upstream.max-connections: unknown key"), e.problems().toString());

        Path conf = dir.resolve("tlsrelay.properties");
        Files.writeString(conf, String.join("\n", "audit.file = " + dir.resolve("audit.jsonl"),
                "upstream.host = relay.corp.test", "route.lab.clients = 192.168.20.0/24",
                "route.lab.host = relay.lab.test", "route.lab.max-connections = 2",
                "route.lab.pool.max-connections = 4", ""));
        StringWriter err = new StringWriter();
        assertEquals(2, Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), // EXIT_CONFIG
                "check-config", "--config", conf.toString()));
        assertTrue(err.toString().contains("route.lab.max-connections = 2 and route.lab.pool.max-connections = 4"
                + " disagree"), err.toString());
    }

    /** OAuth 2.0 client credentials for the default upstream (or {@code prefix}'s route). */
    private Map<String, String> oauth(Map<String, String> m, String prefix) throws Exception {
        Path secret = dir.resolve("client-secret");
        Files.writeString(secret, "s3cret\n");
        m.put(prefix + "auth.username", "scans@corp.test");
        m.put(prefix + "oauth2.token-url", "https://login.idp.test/token");
        m.put(prefix + "oauth2.client-id", "relay");
        m.put(prefix + "oauth2.client-secret-file", secret.toString());
        m.put(prefix + "oauth2.scope", "https://outlook.office365.com/.default");
        return m;
    }

    @Test
    void aPresetPutsItsProvidersPasswordMechanismFirstAndExplicitOnesWin() throws Exception {
        Map<String, String> m = base();
        m.put("upstream.preset", "microsoft365");
        m.put("upstream.auth.username", "scans@corp.test");
        m.put("upstream.auth.password", "secret");
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        assertEquals(List.of(RelayConfig.AuthMechanism.LOGIN, RelayConfig.AuthMechanism.PLAIN),
                c.upstream().auth().orElseThrow().mechanisms());
        assertEquals(new RelayConfig.Setting(Key.UPSTREAM_AUTH_MECHANISM, "login", RelayConfig.Origin.PRESET, false),
                setting(c, Key.UPSTREAM_AUTH_MECHANISM));

        m.put("upstream.preset", "gmail");
        assertEquals(List.of(RelayConfig.AuthMechanism.PLAIN, RelayConfig.AuthMechanism.LOGIN),
                ConfigLoader.fromValues(m, Map.of()).upstream().auth().orElseThrow().mechanisms());

        m.put("upstream.preset", "microsoft365");
        m.put("upstream.auth.mechanism", "plain");
        c = ConfigLoader.fromValues(m, Map.of());
        assertEquals(List.of(RelayConfig.AuthMechanism.PLAIN), c.upstream().auth().orElseThrow().mechanisms());
        assertEquals(RelayConfig.Origin.FILE, setting(c, Key.UPSTREAM_AUTH_MECHANISM).origin());
    }

    @Test
    void withOAuth2APresetWhoseProviderTakesXoauth2UsesIt() throws Exception {
        for (String preset : List.of("microsoft365", "gmail", "google-workspace-relay")) {
            Map<String, String> m = oauth(base(), "upstream.");
            m.put("upstream.preset", preset);
            RelayConfig c = ConfigLoader.fromValues(m, Map.of());
            assertEquals(List.of(RelayConfig.AuthMechanism.XOAUTH2), c.upstream().auth().orElseThrow().mechanisms());
            assertEquals("xoauth2", setting(c, Key.UPSTREAM_AUTH_MECHANISM).shown(), preset);
            assertEquals(RelayConfig.Origin.PRESET, setting(c, Key.UPSTREAM_AUTH_MECHANISM).origin(), preset);
        }
    }

    @Test
    void oauth2AgainstAmazonSesIsAnErrorNamingTheKeysAndTheFix() throws Exception {
        Map<String, String> m = oauth(base(), "upstream.");
        m.put("upstream.preset", "amazon-ses");
        m.put("upstream.region", "eu-west-1");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(m, Map.of()));
        assertEquals(List.of("upstream.oauth2.token-url is set, but upstream.preset = amazon-ses takes no OAuth 2.0"
                + " tokens (no AUTH XOAUTH2): log in with its SMTP password instead (upstream.auth.password-file) and"
                + " remove upstream.oauth2.*"), e.problems());

        Map<String, String> r = oauth(base(), "route.mon.");
        r.put("upstream.host", "relay.corp.test");
        r.put("route.mon.senders", "@monitoring.corp.test");
        r.put("route.mon.preset", "amazon-ses");
        r.put("route.mon.region", "eu-west-1");
        e = assertThrows(ConfigException.class, () -> ConfigLoader.fromValues(r, Map.of()));
        assertEquals(List.of("route.mon.oauth2.token-url is set, but route.mon.preset = amazon-ses takes no OAuth 2.0"
                + " tokens (no AUTH XOAUTH2): log in with its SMTP password instead (route.mon.auth.password-file) and"
                + " remove route.mon.oauth2.*"), e.problems());

        // Set explicitly, the mechanism wins (validated as always: xoauth2 with tokens is consistent).
        m.put("upstream.auth.mechanism", "xoauth2");
        assertEquals(List.of(RelayConfig.AuthMechanism.XOAUTH2),
                ConfigLoader.fromValues(m, Map.of()).upstream().auth().orElseThrow().mechanisms());
    }

    @Test
    void withoutCredentialsNoMechanismAppliesAndNothingIsWrong() throws Exception {
        Map<String, String> m = base();
        m.put("upstream.preset", "google-workspace-relay"); // IP-based: the relay's address is registered
        RelayConfig c = ConfigLoader.fromValues(m, Map.of());
        assertTrue(c.upstream().auth().isEmpty());
        assertEquals(RelayConfig.Origin.UNSET, setting(c, Key.UPSTREAM_AUTH_MECHANISM).origin());
        assertEquals("", setting(c, Key.UPSTREAM_AUTH_MECHANISM).shown());
    }

    @Test
    void limitsDefaultToNone() throws Exception {
        Map<String, String> m = base();
        m.put("upstream.host", "relay.corp.test");
        Routing.Limits l = ConfigLoader.fromValues(m, Map.of()).routing().defaultLimits();
        assertEquals(new Routing.Limits(0, 0, 0, 0, Duration.ofSeconds(10), Duration.ofSeconds(60)), l);
    }
}
