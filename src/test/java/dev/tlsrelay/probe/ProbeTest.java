package dev.tlsrelay.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.ScriptedSmtpServer;
import dev.tlsrelay.support.ScriptedSmtpServer.Script;
import dev.tlsrelay.support.ScriptedSmtpServer.Tls;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tlsrelay probe HOST:PORT} against real servers started here, one per kind of trouble: each
 * broken server is named with its problem and fix in one line, a good one gets "the relay WILL
 * work", and the exit code agrees. Every case is checked as text and as JSON.
 */
@Timeout(60)
class ProbeTest {

    private final TestPki pki = new TestPki();

    @TempDir
    Path dir;

    private String ca() throws Exception {
        return pki.writeCa(dir).toString();
    }

    /** A certificate that is fine for a long while (the minter's default lasts 30 days, which warns). */
    private HeldCertificate longLived(String... names) {
        return new CertificateMinter().names(names).signedBy(pki.ca)
                .validity(Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(200))).mint();
    }

    @Test
    void goodStartTlsServerSaysTheRelayWillWork() throws Exception {
        HeldCertificate cert = longLived("localhost", "127.0.0.1");
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, cert)) {
            String target = "127.0.0.1:" + catcher.port();

            Cli text = Cli.run("probe", target, "--ca-file", ca());

            assertEquals(0, text.exit(), text.toString());
            assertTrue(text.out().contains("result: the relay WILL work with " + target), text.out());
            assertTrue(text.out().contains("ehlo       before TLS: STARTTLS yes"), text.out());
            assertTrue(text.out().matches("(?s).*TLS 1\\.0 +refused.*TLS 1\\.1 +refused.*TLS 1\\.2 +accepted.*"
                    + "TLS 1\\.3 +accepted.*"), text.out());
            assertTrue(text.out().contains("OK    the relay gets TLSv1.3 with TLS_AES_"), text.out());
            assertTrue(text.out().contains("  host name  ok: the certificate names 127.0.0.1"), text.out());
            assertFalse(text.out().contains("FAIL"), text.out());

            JsonNode json = Cli.json("probe", target, "--ca-file", ca());
            assertTrue(json.path("relay_would_succeed").asBoolean(), json.toPrettyString());
            assertEquals("starttls", json.path("security").asText());
            assertTrue(json.path("ehlo_before_tls").path("starttls").asBoolean());
            assertTrue(json.path("ehlo_before_tls").path("smtputf8").asBoolean());
            assertEquals("ok", json.path("tls").path("outcome").asText());
            assertEquals("TLSv1.3", json.path("tls").path("protocol").asText());
            assertTrue(json.path("tls").path("handshake_ms").asLong() >= 0);
            assertEquals(List.of(false, false, true, true), accepted(json));
            JsonNode leaf = json.path("certificates").get(0);
            assertEquals(sha256(cert), leaf.path("sha256").asText());
            assertEquals(cert.pin().base64(), leaf.path("spki_sha256").asText());
            assertEquals("EC", leaf.path("key_type").asText());
            assertEquals(256, leaf.path("key_bits").asInt());
            assertEquals("SHA256withECDSA", leaf.path("signature_algorithm").asText());
            assertTrue(leaf.path("days_left").asInt() >= 198, leaf.toString());
            assertEquals("passed", json.path("verification").path("chain").path("status").asText());
            assertEquals("passed", json.path("verification").path("hostname").path("status").asText());
            // The catcher demands no AUTH, which a submission port normally offers.
            assertEquals("WARN", Cli.finding(json, "no_auth_after_tls").path("severity").asText());
        }
    }

    @Test
    void expiredCertificateIsNamedWithItsDate() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(Script.startTls(new Tls.Modern(pki.expired())))) {
            String target = "127.0.0.1:" + server.port();

            Cli text = Cli.run("probe", target, "--ca-file", ca());

            assertEquals(1, text.exit(), text.toString());
            assertTrue(text.out().matches("(?s).*\\n  FAIL  certificate expired 1 day ago \\(\\d{4}-\\d\\d-\\d\\d\\):"
                    + " renew it on the server\\n.*"), text.out());
            assertTrue(text.out().contains("result: the relay will NOT work with " + target), text.out());
            JsonNode json = Cli.json("probe", target, "--ca-file", ca());
            assertEquals("cert_expired", json.path("tls").path("failure").asText());
            assertEquals("FAIL", Cli.finding(json, "cert_expired").path("severity").asText());
            assertEquals("failed", json.path("verification").path("chain").path("status").asText());
            // The other checks are still shown, so only one thing needs fixing.
            assertEquals("passed", json.path("verification").path("hostname").path("status").asText());
            assertTrue(json.path("certificates").get(0).path("days_left").asInt() < 0);
        }
    }

    @Test
    void wrongHostNamesTheNamesOnTheCertificate() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(Script.startTls(new Tls.Modern(pki.wrongHost())))) {
            String target = "127.0.0.1:" + server.port();

            Cli text = Cli.run("probe", target, "--ca-file", ca());

            assertEquals(1, text.exit(), text.toString());
            assertTrue(text.out().contains("  FAIL  certificate name does not match 127.0.0.1: use the host name the"
                    + " certificate was issued for (mail.wrong-host.test)\n"), text.out());
            JsonNode json = Cli.json("probe", target, "--ca-file", ca());
            assertEquals("hostname_mismatch", json.path("tls").path("failure").asText());
            assertEquals("failed", json.path("verification").path("hostname").path("status").asText());
            assertEquals("passed", json.path("verification").path("chain").path("status").asText());
        }
    }

    @Test
    void selfSignedCertificateFailsUntilItsPinIsGiven() throws Exception {
        HeldCertificate self = TestPki.selfSigned();
        String pin = self.pin().base64();
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(Script.startTls(new Tls.Modern(self)))) {
            String target = "localhost:" + server.port();

            Cli untrusted = Cli.run("probe", target);
            assertEquals(1, untrusted.exit(), untrusted.toString());
            assertTrue(untrusted.out().contains("  FAIL  certificate is self-signed, not issued by a CA in JDK trust"
                    + " store: install a certificate from a CA the relay trusts, or pin this one: --verify pin"
                    + " --pin-sha256 " + pin + " (upstream.tls.verify = pin)\n"), untrusted.out());

            Cli pinned = Cli.run("probe", target, "--verify", "pin", "--pin-sha256", "sha256/" + pin);
            assertEquals(0, pinned.exit(), pinned.toString());
            assertTrue(pinned.out().contains("  OK    the chain carries the pinned key sha256/" + pin
                    + "; in pin mode the pin alone identifies the server"), pinned.out());
            assertTrue(pinned.out().contains("result: the relay WILL work"), pinned.out());
            JsonNode json = Cli.json("probe", target, "--verify", "pin", "--pin-sha256", pin);
            assertEquals("pin", json.path("policy").path("verify").asText());
            assertEquals("passed", json.path("verification").path("pin").path("status").asText());
            assertEquals("failed", json.path("verification").path("chain").path("status").asText());
            assertTrue(json.path("verification").path("accepted_by_relay").asBoolean());

            String otherPin = TestPki.selfSigned().pin().base64();
            Cli wrongPin = Cli.run("probe", target, "--verify", "pin", "--pin-sha256", otherPin);
            assertEquals(1, wrongPin.exit(), wrongPin.toString());
            assertTrue(wrongPin.out().contains("  FAIL  no certificate in the chain has a pinned key (the server's key"
                    + " is sha256/" + pin + "): if the server's key changed on purpose, pin the new one"), wrongPin.out());
            assertEquals("pin_mismatch", Cli.json("probe", target, "--verify", "pin", "--pin-sha256", otherPin)
                    .path("tls").path("failure").asText());
        }
    }

    @Test
    void certificateFromAnUnknownCaNamesItsIssuer() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(Script.startTls(new Tls.Modern(TestPki.untrusted())))) {
            Cli text = Cli.run("probe", "127.0.0.1:" + server.port(), "--ca-file", ca());

            assertEquals(1, text.exit(), text.toString());
            assertTrue(text.out().contains("  FAIL  certificate is not issued by a CA in " + ca()
                    + " (issuer CN=some other CA): give the relay the issuing CA with --ca-file"), text.out());
        }
    }

    @Test
    void serverWithNoneOfTheRelaysCipherSuitesIsNamedWithTheSuiteItPicks() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(Script.startTls(new Tls.CbcOnlyTls12(pki.good())))) {
            String target = "127.0.0.1:" + server.port();

            Cli text = Cli.run("probe", target, "--ca-file", ca());

            assertEquals(1, text.exit(), text.toString());
            assertTrue(text.out().matches("(?s).*\\n  FAIL  the TLS handshake failed with the relay's cipher suites \\([^\\n]*"
                    + "\\); offered everything, the server picks TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: enable ECDHE"
                    + " with AES-GCM or ChaCha20-Poly1305 on the server, or add a suite it supports to"
                    + " upstream.tls.cipher-suites\\n.*"), text.out());
            JsonNode json = Cli.json("probe", target, "--ca-file", ca());
            assertEquals(List.of(false, false, true, false), accepted(json));
            assertEquals("handshake_failed", json.path("tls").path("failure").asText());
            assertEquals("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", json.path("versions").get(2).path("cipher").asText());
        }
    }

    @Test
    void nothingListeningIsAConnectFailure() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String target = "127.0.0.1:" + port;

        Cli text = Cli.run("probe", target);

        assertEquals(1, text.exit(), text.toString());
        assertTrue(text.out().contains("  FAIL  cannot connect to " + target + ": connection refused: nothing is"
                + " listening on " + target + ": check the port (587 for STARTTLS, 465 for implicit TLS) and that the"
                + " server is running\n"), text.out());
        JsonNode json = Cli.json("probe", target);
        assertEquals("connect", json.path("failed_at").asText());
        assertEquals("connect_failed", json.path("tls").path("failure").asText());
        assertEquals(0, json.path("versions").size(), "no version tests without a server");
    }

    @Test
    void serverThatHangsAfterItsGreetingTimesOutWithinTheBound() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(
                Script.startTls(new Tls.Modern(pki.good())).hangingAfterGreeting())) {
            long start = System.nanoTime();

            Cli text = Cli.run("probe", "127.0.0.1:" + server.port(), "--timeout", "1");

            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertEquals(1, text.exit(), text.toString());
            assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "took " + took);
            assertTrue(text.out().contains("  FAIL  the server stopped answering: no answer within 1 s (waiting for"
                    + " the reply to EHLO): the server or a filter in front of it holds the connection; ask its"
                    + " administrator\n"), text.out());
            assertTrue(text.out().contains("greeting   220 scripted.test ESMTP ready"), text.out());
            JsonNode json = Cli.json("probe", "127.0.0.1:" + server.port(), "--timeout", "1");
            assertEquals("ehlo", json.path("failed_at").asText());
            assertEquals("timeout", json.path("tls").path("failure").asText());
        }
    }

    @Test
    void startTlsNotAdvertisedIsNamedWithThePort() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(Script.startTls(new Tls.None()).withoutStartTls())) {
            int port = server.port();

            Cli text = Cli.run("probe", "127.0.0.1:" + port);

            assertEquals(1, text.exit(), text.toString());
            assertTrue(text.out().contains("  FAIL  STARTTLS not advertised on port " + port + ": this server cannot"
                    + " receive mail from the relay securely: enable STARTTLS on the server"), text.out());
            assertEquals(1, server.connections(), "no version tests without STARTTLS");
            assertFalse(server.commands().contains("STARTTLS"), server.commands().toString());
        }
    }

    @Test
    void authOfferedBeforeTlsIsWarnedAbout() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(Script.startTls(new Tls.Modern(
                longLived("localhost", "127.0.0.1"))).withAuth(List.of("PLAIN", "LOGIN"), List.of("PLAIN", "LOGIN")))) {
            Cli text = Cli.run("probe", "127.0.0.1:" + server.port(), "--ca-file", ca());

            assertEquals(0, text.exit(), text.toString());
            assertTrue(text.out().contains("  WARN  server offers AUTH PLAIN LOGIN before TLS, so passwords can cross"
                    + " the network in plaintext: disable AUTH on unencrypted connections"), text.out());
            assertTrue(text.out().contains("ehlo       after TLS: AUTH PLAIN LOGIN, SIZE 10240000"), text.out());
            // The probe never logs in, and never sends mail.
            assertTrue(server.commands().stream().noneMatch(c -> c.startsWith("AUTH") || c.startsWith("MAIL")),
                    server.commands().toString());
        }
    }

    @Test
    void implicitTlsIsChosenForPort465AndGivenModesAreKept() throws Exception {
        try (ScriptedSmtpServer server = ScriptedSmtpServer.start(Script.implicit(new Tls.Modern(
                longLived("localhost", "127.0.0.1"))))) {
            JsonNode json = Cli.json("probe", "127.0.0.1:" + server.port(), "--security", "implicit", "--ca-file", ca());

            assertEquals(0, json.path("exit_code").asInt(), json.toPrettyString());
            assertEquals("implicit", json.path("security").asText());
            assertFalse(json.has("ehlo_before_tls"));
            assertTrue(json.path("ehlo_after_tls").path("auth").toString().contains("PLAIN"));
            assertEquals(List.of(false, false, true, true), accepted(json));
        }
    }

    @Test
    void usageErrorsExitTwo() {
        assertEquals(2, Cli.run("probe").exit());
        assertEquals(2, Cli.run("probe", "mail.example.test:99999").exit());
        assertEquals(2, Cli.run("probe", "mail.example.test", "--security", "tls").exit());
        assertEquals(2, Cli.run("probe", "mail.example.test", "--verify", "pin").exit());
        assertEquals(2, Cli.run("probe", "mail.example.test", "--pin-sha256", "not-a-pin").exit());
        assertEquals(2, Cli.run("probe", "mail.example.test", "--domain", "example.test").exit());
        assertEquals(2, Cli.run("probe", "mail.example.test", "--ca-file", dir.resolve("missing.pem").toString()).exit());
        Cli c = Cli.run("probe", "mail.example.test", "--min-version", "TLSv1.1");
        assertEquals(2, c.exit());
        assertTrue(c.err().contains("--min-version TLSv1.1: use TLSv1.2 or TLSv1.3"), c.err());
    }

    static List<Boolean> accepted(JsonNode json) {
        List<Boolean> out = new java.util.ArrayList<>();
        json.path("versions").forEach(v -> out.add(v.path("accepted").asBoolean()));
        return out;
    }

    static String sha256(HeldCertificate c) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.certificate().getEncoded()));
    }
}
