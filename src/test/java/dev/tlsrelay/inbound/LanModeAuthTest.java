package dev.tlsrelay.inbound;

import static dev.tlsrelay.inbound.LanModeTlsTest.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.tlsrelay.auth.PasswordHash;
import dev.tlsrelay.auth.UsersFile;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.DeviceClient;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * LAN mode's inbound AUTH against a real relay and upstream: never offered or accepted before TLS
 * (unless allowed), PLAIN and LOGIN against the users file, failures logged without the password
 * and bounded per session, and {@code listen.auth.required} enforced.
 */
@Timeout(60)
class LanModeAuthTest {

    private static final String USER = "scanner";
    private static final String PASSWORD = "correct horse battery staple";

    @TempDir
    Path dir;

    private final TestPki pki = new TestPki();
    private Catcher catcher;
    private Path usersFile;

    @BeforeEach
    void start() throws Exception {
        catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
        usersFile = dir.resolve("users");
        UsersFile.setPassword(usersFile, USER, PasswordHash.create(PASSWORD.toCharArray(), 1_000));
    }

    @AfterEach
    void stop() {
        catcher.close();
    }

    /** A relay with AUTH; with inbound STARTTLS unless {@code tls} is false. */
    private RelayFixture relay(boolean tls, Map<String, String> extra) throws Exception {
        Map<String, String> s = new HashMap<>(Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(catcher.port()),
                "upstream.tls.ca-file", pki.writeCa(dir).toString(),
                "listen.auth.users-file", usersFile.toString()));
        if (tls) {
            HeldCertificate identity = pki.good();
            Path cert = Files.writeString(dir.resolve("cert.pem"), identity.certificatePem());
            Path key = Files.writeString(dir.resolve("key.pem"), identity.privateKeyPem());
            s.put("listen.tls.cert-file", cert.toString());
            s.put("listen.tls.key-file", key.toString());
        }
        s.putAll(extra);
        return RelayFixture.start(dir, s);
    }

    private void startTls(DeviceClient device) throws Exception {
        expect(device.command("STARTTLS"), "220");
        device.handshakeJdk(pki.ca.certificate());
    }

    @Test
    void authIsNeitherOfferedNorAcceptedBeforeTls() throws Exception {
        try (RelayFixture relay = relay(true, Map.of()); DeviceClient device = DeviceClient.connect(relay.port())) {
            device.greeting();
            String plain = device.command("EHLO printer.lan");
            assertTrue(plain.contains("250-STARTTLS"), plain);
            assertFalse(plain.contains("AUTH"), "no AUTH before TLS: " + plain);
            assertTrue(plain.contains("250-PIPELINING"), plain);
            expect(device.authPlain(USER, PASSWORD), "538 5.7.11");
            expect(device.command("AUTH LOGIN"), "538 5.7.11");

            startTls(device);
            String secure = device.command("EHLO printer.lan");
            assertTrue(secure.contains("250-AUTH PLAIN LOGIN"), secure);
            assertFalse(secure.contains("STARTTLS"), "STARTTLS is not offered inside TLS (RFC 3207): " + secure);
            assertTrue(secure.contains("250-PIPELINING"), "PIPELINING is still offered inside TLS: " + secure);
            expect(device.command("STARTTLS"), "503 5.5.1");
            expect(device.authPlain(USER, PASSWORD), "235");
            expect(device.command("QUIT"), "221");
        }
    }

    @Test
    void plainAndLoginAuthenticateAndFailuresAreLoggedWithoutThePassword() throws Exception {
        ListAppender<ILoggingEvent> log = capture(Logins.class);
        try (RelayFixture relay = relay(true, Map.of())) {
            try (DeviceClient device = DeviceClient.connect(relay.port())) {
                device.greeting();
                device.command("EHLO printer.lan");
                startTls(device);
                device.command("EHLO printer.lan");
                expect(device.authPlain(USER, "wrong password 1"), "535");
                expect(device.authPlain("nobody", PASSWORD), "535");
                expect(device.authLogin(USER, PASSWORD), "235");
                expect(device.authPlain(USER, PASSWORD), "503");
                expect(device.command("QUIT"), "221");
            }
            List<String> lines = log.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
            assertEquals(3, lines.size(), lines.toString());
            assertTrue(lines.get(0).contains("AUTH failed for user 'scanner' from 127.0.0.1"), lines.get(0));
            assertTrue(lines.get(1).contains("AUTH failed for user 'nobody' from 127.0.0.1"), lines.get(1));
            assertTrue(lines.get(2).contains("AUTH as 'scanner' from 127.0.0.1"), lines.get(2));
            assertTrue(lines.stream().noneMatch(l -> l.contains("wrong password") || l.contains(PASSWORD)),
                    "passwords never reach the log: " + lines);
        } finally {
            release(Logins.class, log);
        }
    }

    @Test
    void requiredAuthRefusesMailWithoutItAndRelaysWithIt() throws Exception {
        try (RelayFixture relay = relay(true, Map.of("listen.auth.required", "true"));
                DeviceClient device = DeviceClient.connect(relay.port())) {
            device.greeting();
            device.command("EHLO printer.lan");
            expect(device.command("MAIL FROM:<printer@office.test>"), "530 5.7.0");
            startTls(device);
            device.command("EHLO printer.lan");
            expect(device.command("MAIL FROM:<printer@office.test>"), "530 5.7.0");
            expect(device.command("RCPT TO:<admin@office.test>"), "530 5.7.0");
            expect(device.command("DATA"), "530 5.7.0");
            expect(device.authPlain(USER, PASSWORD), "235");
            expect(device.command("MAIL FROM:<printer@office.test>"), "250");
            expect(device.command("RCPT TO:<admin@office.test>"), "250");
            expect(device.command("DATA"), "354");
            expect(device.command("Subject: authenticated\r\n\r\nhello\r\n."), "250");
            expect(device.command("QUIT"), "221");
            assertTrue(catcher.awaitMessages(1, Duration.ofSeconds(10)));
            assertEquals("printer@office.test", catcher.received().get(0).mailFrom());
            String trace = java.nio.file.Files.readString(catcher.received().get(0).eml()).lines().limit(2)
                    .reduce("", String::concat);
            assertTrue(trace.contains("with ESMTPSA id"), "RFC 3848: TLS and AUTH in the trace header: " + trace);
        }
    }

    @Test
    void threeFailedAuthAttemptsEndTheSession() throws Exception {
        try (RelayFixture relay = relay(true, Map.of()); DeviceClient device = DeviceClient.connect(relay.port())) {
            device.greeting();
            device.command("EHLO printer.lan");
            startTls(device);
            device.command("EHLO printer.lan");
            expect(device.authPlain(USER, "guess 1"), "535");
            expect(device.authPlain(USER, "guess 2"), "535");
            expect(device.authPlain(USER, "guess 3"), "535");
            expect(device.reply(), "421 4.7.0");
            assertTrue(device.closedByServer());
        }
    }

    @Test
    void usersAddedWhileTheRelayRunsCanLogInAtOnce() throws Exception {
        try (RelayFixture relay = relay(true, Map.of())) {
            UsersFile.setPassword(usersFile, "copier", PasswordHash.create("new secret".toCharArray(), 1_000));
            try (DeviceClient device = DeviceClient.connect(relay.port())) {
                device.greeting();
                device.command("EHLO copier.lan");
                startTls(device);
                device.command("EHLO copier.lan");
                expect(device.authPlain("copier", "new secret"), "235");
            }
        }
    }

    @Test
    void plaintextAuthWhenAllowedForDevicesOnThisMachine() throws Exception {
        try (RelayFixture relay = relay(false, Map.of("listen.auth.allow-plaintext", "true",
                "listen.auth.required", "true")); DeviceClient device = DeviceClient.connect(relay.port())) {
            assertTrue(relay.relay.config().warnings().stream().anyMatch(w -> w.startsWith(
                    "listen.auth.allow-plaintext = true: AUTH is offered before STARTTLS")),
                    relay.relay.config().warnings().toString());
            device.greeting();
            String ehlo = device.command("EHLO printer.lan");
            assertTrue(ehlo.contains("250-AUTH PLAIN LOGIN"), ehlo);
            assertFalse(ehlo.contains("STARTTLS"), "no certificate, no STARTTLS: " + ehlo);
            expect(device.command("MAIL FROM:<printer@office.test>"), "530 5.7.0");
            expect(device.authLogin(USER, PASSWORD), "235");
            expect(device.command("MAIL FROM:<printer@office.test>"), "250");
            expect(device.command("QUIT"), "221");
        }
    }

    private static ListAppender<ILoggingEvent> capture(Class<?> type) {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        Logger logger = (Logger) LoggerFactory.getLogger(type);
        // Other tests run commands in this JVM that quieten dev.tlsrelay: this test needs INFO.
        logger.setLevel(ch.qos.logback.classic.Level.INFO);
        logger.addAppender(appender);
        return appender;
    }

    private static void release(Class<?> type, ListAppender<ILoggingEvent> appender) {
        Logger logger = (Logger) LoggerFactory.getLogger(type);
        logger.detachAppender(appender);
        logger.setLevel(null);
    }
}
