package dev.tlsrelay.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.support.DnsStub;
import dev.tlsrelay.support.PolicyServer;
import dev.tlsrelay.support.ScriptedSmtpServer;
import dev.tlsrelay.support.ScriptedSmtpServer.Script;
import dev.tlsrelay.support.ScriptedSmtpServer.Tls;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.TrustSource;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code tlsrelay probe --domain}: MX hosts from a local DNS stub, each probed on a loopback
 * address with STARTTLS, the MTA-STS policy from a local HTTPS server, TLS-RPT from DNS. No
 * outside network: DNS answers come from {@link DnsStub}, the policy from {@link PolicyServer}.
 */
@Timeout(60)
class DomainProbeTest {

    private static final String DOMAIN = "example.test";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TestPki pki = new TestPki();

    private HeldCertificate cert(String... names) {
        return new CertificateMinter().names(names).signedBy(pki.ca)
                .validity(Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(200))).mint();
    }

    private TlsPolicy policy() {
        return TlsPolicy.fullVerification(TrustSource.of(List.of(pki.ca.certificate())), Duration.ofSeconds(5));
    }

    private DomainProbe probe(DnsStub dns, PolicyServer policyServer, int smtpPort) {
        return new DomainProbe(policy(), "probe.test", DnsLookup.using(dns.resolver(), Duration.ofSeconds(2)),
                d -> policyServer.uri(), TrustSource.of(List.of(pki.ca.certificate())), smtpPort);
    }

    /** Two MX hosts on 127.0.0.1 and 127.0.0.2 sharing one port, as MX hosts share port 25. */
    private static int freePortOnBoth() throws Exception {
        for (int attempt = 0; attempt < 20; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                port = s.getLocalPort();
            }
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.2"))) {
                return s.getLocalPort();
            } catch (java.io.IOException taken) {
                // try another
            }
        }
        throw new IllegalStateException("no port free on both 127.0.0.1 and 127.0.0.2");
    }

    @Test
    void mxHostsAreProbedAndCheckedAgainstTheMtaStsPolicy() throws Exception {
        int port = freePortOnBoth();
        try (ScriptedSmtpServer mx1 = ScriptedSmtpServer.start(
                        Script.startTls(new Tls.Modern(cert("mx1.example.test"))), InetAddress.getByName("127.0.0.1"), port);
                ScriptedSmtpServer mx2 = ScriptedSmtpServer.start(
                        Script.startTls(new Tls.Modern(cert("mx-old.example.test"))), InetAddress.getByName("127.0.0.2"),
                        port);
                PolicyServer policy = PolicyServer.start(cert("127.0.0.1"), 200, "text/plain",
                        "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmax_age: 86400\r\n");
                DnsStub dns = DnsStub.start()) {
            dns.mx(DOMAIN, 10, "mx1.example.test").mx(DOMAIN, 20, "mx2.example.test")
                    .a("mx1.example.test", "127.0.0.1").a("mx2.example.test", "127.0.0.2")
                    .txt("_mta-sts." + DOMAIN, "v=STSv1; id=20261123T000000;")
                    .txt("_smtp._tls." + DOMAIN, "v=TLSRPTv1; rua=mailto:tlsrpt@example.test");

            DomainReport report = probe(dns, policy, port).probe(DOMAIN);

            assertEquals(1, report.exitCode());
            assertEquals(List.of("mx1.example.test", "mx2.example.test"),
                    report.mxHosts().stream().map(DomainReport.MxHost::host).toList());
            assertTrue(report.mxHosts().get(0).relayWouldSucceed());
            assertFalse(report.mxHosts().get(1).relayWouldSucceed());
            assertEquals(1, mx1.connections() > 0 ? 1 : 0, "mx1 was probed on its own address");
            assertTrue(mx2.connections() > 0, "mx2 was probed on its own address");

            String text = text(report);
            assertTrue(text.contains("mx         10  mx1.example.test  127.0.0.1  relay OK"), text);
            assertTrue(text.contains("mx         20  mx2.example.test  127.0.0.2  relay FAILS"), text);
            assertTrue(text.contains("  OK    mx1.example.test (MX 10): the relay gets TLSv1.3"), text);
            assertTrue(text.contains("  FAIL  mx2.example.test (MX 20): certificate name does not match"
                    + " mx2.example.test: give the server a certificate that names mx2.example.test, the name in the"
                    + " MX record of example.test (it names mx-old.example.test)\n"), text);
            assertTrue(text.contains("  FAIL  MTA-STS policy mode enforce, max_age 86400, mx mx1.example.test: it does"
                    + " not cover mx2.example.test: add them to the policy's mx lines, or senders enforcing MTA-STS"
                    + " will not deliver to them\n"), text);
            assertTrue(text.contains("  OK    TLS-RPT reports go to mailto:tlsrpt@example.test"), text);

            JsonNode json = JSON.readTree(JSON.writeValueAsString(ProbeOutput.json(report)));
            assertEquals(1, json.path("exit_code").asInt());
            assertEquals("found", json.path("mx").path("lookup").asText());
            JsonNode hosts = json.path("mx").path("hosts");
            assertEquals("127.0.0.2", hosts.get(1).path("address").asText());
            assertTrue(hosts.get(0).path("mta_sts_covered").asBoolean());
            assertFalse(hosts.get(1).path("mta_sts_covered").asBoolean());
            assertEquals("hostname_mismatch", hosts.get(1).path("probe").path("tls").path("failure").asText());
            assertEquals(port, hosts.get(1).path("probe").path("port").asInt());
            assertEquals("enforce", json.path("mta_sts").path("policy").path("mode").asText());
            assertEquals("20261123T000000", json.path("mta_sts").path("id").asText());
            assertEquals(200, json.path("mta_sts").path("http_status").asInt());
            assertEquals("mailto:tlsrpt@example.test", json.path("tls_rpt").path("rua").get(0).asText());
            assertEquals("FAIL", Cli.finding(json, "mta_sts_mx_uncovered").path("severity").asText());
        }
    }

    @Test
    void aDomainWhoseEveryMxWorksAndIsCoveredExitsZero() throws Exception {
        try (ScriptedSmtpServer mx = ScriptedSmtpServer.start(Script.startTls(new Tls.Modern(cert("mx1.example.test"))));
                PolicyServer policy = PolicyServer.start(cert("127.0.0.1"), 200, "text/plain; charset=utf-8",
                        "version: STSv1\nmode: enforce\nmx: *.example.test\nmax_age: 604800\n");
                DnsStub dns = DnsStub.start()) {
            dns.mx(DOMAIN, 10, "mx1.example.test").a("mx1.example.test", "127.0.0.1")
                    .txt("_mta-sts." + DOMAIN, "v=STSv1; id=1;")
                    .txt("_smtp._tls." + DOMAIN, "v=TLSRPTv1; rua=mailto:tlsrpt@example.test");

            DomainReport report = probe(dns, policy, mx.port()).probe(DOMAIN);

            String text = text(report);
            assertEquals(0, report.exitCode(), text);
            assertTrue(text.contains("  OK    MTA-STS policy mode enforce, max_age 604800, mx *.example.test: covers"
                    + " every MX host"), text);
            assertTrue(text.contains("result: every MX host of example.test works with the relay's policy"), text);
            assertFalse(text.contains("FAIL"), text);
        }
    }

    @Test
    void noMxRecordNamesTheMissingRecordsThroughTheCommandLine() throws Exception {
        try (DnsStub dns = DnsStub.start()) {
            dns.a(DOMAIN, "192.0.2.10");

            Cli text = Cli.run("probe", "--domain", DOMAIN, "--dns-server", "127.0.0.1:" + dns.port(), "--timeout", "2");

            assertEquals(1, text.exit(), text.toString());
            assertTrue(text.out().contains("  FAIL  example.test has no MX record (senders fall back to its address"
                    + " record: 192.0.2.10): publish one naming your mail server, e.g. \"example.test. MX 10"
                    + " mail.example.test.\"\n"), text.out());
            assertTrue(text.out().contains("  WARN  no MTA-STS record (_mta-sts.example.test TXT): publish"), text.out());
            assertTrue(text.out().contains("  WARN  no TLS-RPT record (_smtp._tls.example.test TXT): publish"
                    + " \"v=TLSRPTv1; rua=mailto:tls-reports@example.test\""), text.out());
            JsonNode json = Cli.json("probe", "--domain", DOMAIN, "--dns-server", "127.0.0.1:" + dns.port(),
                    "--timeout", "2");
            assertEquals("no_records", json.path("mx").path("lookup").asText());
            assertEquals("192.0.2.10", json.path("mx").path("domain_addresses").get(0).asText());
            assertEquals(0, json.path("mx").path("hosts").size());
            assertEquals("FAIL", Cli.finding(json, "no_mx").path("severity").asText());
        }
    }

    @Test
    void aDomainThatDoesNotExistSaysSo() throws Exception {
        try (DnsStub dns = DnsStub.start()) {
            Cli text = Cli.run("probe", "--domain", "nowhere.test", "--dns-server", "127.0.0.1:" + dns.port(),
                    "--timeout", "2");

            assertEquals(1, text.exit(), text.toString());
            assertTrue(text.out().contains("  FAIL  nowhere.test does not exist in DNS (NXDOMAIN), so it has no MX"
                    + " record: check the spelling"), text.out());
        }
    }

    @Test
    void aPolicyServedWithAnUntrustedCertificateIsUnusable() throws Exception {
        HeldCertificate strangers = TestPki.untrusted();
        try (ScriptedSmtpServer mx = ScriptedSmtpServer.start(Script.startTls(new Tls.Modern(cert("mx1.example.test"))));
                PolicyServer policy = PolicyServer.start(strangers, 200, "text/plain",
                        "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 86400\n");
                DnsStub dns = DnsStub.start()) {
            dns.mx(DOMAIN, 10, "mx1.example.test").a("mx1.example.test", "127.0.0.1")
                    .txt("_mta-sts." + DOMAIN, "v=STSv1; id=abc;");

            DomainReport report = probe(dns, policy, mx.port()).probe(DOMAIN);

            String text = text(report);
            assertEquals(1, report.exitCode(), text);
            assertTrue(text.matches("(?s).*\\n  FAIL  MTA-STS is published but unusable from https://127\\.0\\.0\\.1:\\d+"
                    + "/\\.well-known/mta-sts\\.txt: fetching it failed: [^\\n]*not issued by a trusted CA[^\\n]*: serve"
                    + " the policy over HTTPS with a certificate valid for 127\\.0\\.0\\.1, status 200 and no"
                    + " redirect\\n.*"), text);
            assertTrue(report.mxHosts().get(0).relayWouldSucceed());
            assertTrue(report.mxHosts().get(0).policyCovered().isEmpty(), "no usable policy, no coverage verdict");
        }
    }

    @Test
    void aPolicyBehindARedirectOrInvalidIsNamed() throws Exception {
        try (PolicyServer redirect = PolicyServer.start(cert("127.0.0.1"), 301, "text/plain", "");
                PolicyServer invalid = PolicyServer.start(cert("127.0.0.1"), 200, "text/html",
                        "version: STSv2\nmode: strict\n");
                DnsStub dns = DnsStub.start()) {
            dns.mx(DOMAIN, 10, "mx1.example.test").txt("_mta-sts." + DOMAIN, "v=STSv1; id=abc;");

            String redirected = text(probe(dns, redirect, 25).probe(DOMAIN));
            assertTrue(redirected.contains("HTTP status 301 (a redirect, which senders must not follow)"), redirected);

            DomainReport bad = probe(dns, invalid, 25).probe(DOMAIN);
            String text = text(bad);
            assertTrue(text.contains("  FAIL  the MTA-STS policy is invalid: version \"STSv2\" is not STSv1; mode"
                    + " \"strict\" is not enforce, testing or none; max_age is missing; no mx line"), text);
            // mx1 has no address in this zone.
            assertTrue(text.contains("  FAIL  mx1.example.test (MX 10) has no address: no A or AAAA record: publish an"
                    + " A or AAAA record for mx1.example.test, or remove the MX record"), text);
        }
    }

    @Test
    void policyCoverageFollowsRfc8461Wildcards() {
        MtaStsPolicy p = MtaStsPolicy.parse("version: STSv1\nmode: testing\nmx: mail.example.test\nmx: *.example.net\n"
                + "max_age: 86400\nextension: ignored\n");
        assertTrue(p.valid(), p.problems().toString());
        assertTrue(p.covers("mail.example.test"));
        assertTrue(p.covers("MAIL.example.test."));
        assertTrue(p.covers("mx1.example.net"));
        assertFalse(p.covers("a.b.example.net"), "a wildcard covers one label only");
        assertFalse(p.covers("example.net"));
        assertFalse(p.covers("other.example.test"));
        assertFalse(MtaStsPolicy.parse("mode: enforce\nversion: STSv1\nmx: a\nmax_age: 1\n").valid(),
                "version must come first");
        assertFalse(MtaStsPolicy.parse("version: STSv1\nmode: enforce\nmx: a\nmax_age: 99999999999\n").valid());
    }

    private static String text(DomainReport report) {
        StringWriter sw = new StringWriter();
        ProbeOutput.text(report, new PrintWriter(sw));
        return sw.toString();
    }
}
