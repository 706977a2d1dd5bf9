package dev.tlsrelay.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.support.GreenMailProcess;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.HeldCertificate;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * GreenMail as a third-party server: SMTPS (implicit TLS) with a certificate minted here, and its
 * plain SMTP, which never offers STARTTLS. It runs in a JVM of its own (see {@link GreenMailProcess}).
 */
@Timeout(90)
class GreenMailProbeTest {

    private static final TestPki PKI = new TestPki();
    private static final HeldCertificate CERT = PKI.good();

    @TempDir
    static Path dir;

    private static GreenMailProcess greenMail;

    @BeforeAll
    static void startGreenMail() throws Exception {
        greenMail = GreenMailProcess.start(dir, CERT);
    }

    @AfterAll
    static void stopGreenMail() throws Exception {
        if (greenMail != null) {
            greenMail.close();
        }
    }

    @Test
    void implicitTlsToGreenMailWorks() throws Exception {
        String target = "127.0.0.1:" + greenMail.smtpsPort();
        String ca = PKI.writeCa(dir).toString();

        Cli text = Cli.run("probe", target, "--security", "implicit", "--ca-file", ca);

        assertEquals(0, text.exit(), text.toString());
        assertTrue(text.out().contains("tlsrelay probe " + target + " (implicit, as given)"), text.out());
        assertTrue(text.out().contains("result: the relay WILL work with " + target), text.out());
        JsonNode json = Cli.json("probe", target, "--security", "implicit", "--ca-file", ca);
        assertEquals("implicit", json.path("security").asText());
        assertFalse(json.has("ehlo_before_tls"), "no plaintext EHLO with implicit TLS");
        assertTrue(json.path("greeting").asText().startsWith("220"), json.path("greeting").asText());
        assertTrue(json.path("tls").path("protocol").asText().matches("TLSv1\\.[23]"), json.toPrettyString());
        assertEquals(ProbeTest.sha256(CERT), json.path("certificates").get(0).path("sha256").asText());
        assertTrue(json.path("versions").get(0).path("accepted").asBoolean() == false, "TLS 1.0 is refused");
    }

    @Test
    void greenMailPlainSmtpHasNoStartTls() throws Exception {
        int port = greenMail.smtpPort();

        Cli text = Cli.run("probe", "127.0.0.1:" + port);

        assertEquals(1, text.exit(), text.toString());
        assertTrue(text.out().contains("  FAIL  STARTTLS not advertised on port " + port + ": this server cannot"
                + " receive mail from the relay securely: enable STARTTLS on the server, or probe its implicit TLS"
                + " port (--security implicit, usually 465)\n"), text.out());
        assertTrue(text.out().contains("ehlo       before TLS: STARTTLS NO"), text.out());
        JsonNode json = Cli.json("probe", "127.0.0.1:" + port);
        assertEquals("starttls", json.path("failed_at").asText());
        assertEquals("starttls_not_offered", json.path("tls").path("failure").asText());
        assertFalse(json.path("ehlo_before_tls").path("starttls").asBoolean());
        assertEquals(0, json.path("versions").size());
    }
}
