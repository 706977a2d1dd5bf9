package dev.tlsrelay.relay;

import static dev.tlsrelay.relay.UpstreamFailures.assertCertificateSeen;
import static dev.tlsrelay.relay.UpstreamFailures.assertRefused;
import static dev.tlsrelay.relay.UpstreamFailures.sendExpectingRefusal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.SmtpRefusal;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An upstream whose certificate fails full verification, over STARTTLS and implicit TLS: the relay
 * refuses the client's MAIL with a 451 naming the reason, delivers nothing, and audits the
 * certificate it was shown.
 */
@Timeout(60)
class UpstreamCertificateFailureTest {

    @TempDir
    Path dir;

    /** A bad upstream certificate and the audit failure code it must produce. */
    enum BadCertificate {
        EXPIRED("cert_expired", TestPki::expired),
        NOT_YET_VALID("cert_not_yet_valid", pki -> new CertificateMinter().names("localhost", "127.0.0.1")
                .signedBy(pki.ca).validity(Instant.now().plus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(30)))
                .mint()),
        WRONG_HOST("hostname_mismatch", TestPki::wrongHost),
        UNTRUSTED_ISSUER("cert_untrusted", pki -> TestPki.untrusted());

        final String failure;
        final Function<TestPki, HeldCertificate> mint;

        BadCertificate(String failure, Function<TestPki, HeldCertificate> mint) {
            this.failure = failure;
            this.mint = mint;
        }
    }

    static Stream<Arguments> cases() {
        return Stream.of(BadCertificate.values()).flatMap(bad -> Stream.of(TlsMode.values())
                .map(mode -> Arguments.of(bad, mode)));
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("cases")
    void refusesTheMessageAndAuditsTheCertificate(BadCertificate bad, TlsMode mode) throws Exception {
        TestPki pki = new TestPki();
        HeldCertificate serverCert = bad.mint.apply(pki);
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), mode, serverCert);
                RelayFixture relay = RelayFixture.start(dir, Map.of(
                        "upstream.host", "127.0.0.1",
                        "upstream.port", String.valueOf(catcher.port()),
                        "upstream.security", mode.configName(),
                        "upstream.tls.ca-file", pki.writeCa(dir).toString()))) {

            SmtpRefusal refusal = sendExpectingRefusal(relay, "bad cert " + bad);

            JsonNode hs = assertRefused(relay, refusal, bad.failure, "4.7.0", mode.configName());
            assertCertificateSeen(hs, serverCert.certificate());
            assertEquals("127.0.0.1", hs.path("peer_host").asText());
            assertEquals(catcher.port(), hs.path("peer_port").asInt());
            assertEquals(List.of(), catcher.received(), "nothing may reach the upstream");
            if (bad == BadCertificate.WRONG_HOST) {
                assertTrue(hs.path("detail").asText().contains("mail.wrong-host.test"),
                        "the detail names what the certificate is for: " + hs);
            }
        }
    }
}
