package dev.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.TlsRelayProcess;
import dev.tlsrelay.tls.TlsMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The relay as a daemon: SIGHUP reload, SIGTERM drain, the health check, and the shipped unit and image. */
@Timeout(120)
class DaemonTest {

    @TempDir
    Path dir;

    private static void signal(String name, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(pid)).start();
        assertEquals(0, kill.waitFor());
    }

    @Test
    void hangupReloadsAndRefusesABrokenFileThenTermDrainsTheMessageInFlight() throws Exception {
        TestPki pki = new TestPki();
        int relayPort = Catchers.unusedPort();
        int adminPort = Catchers.unusedPort();
        try (Catcher upstream = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good())) {
            Path config = dir.resolve("tlsrelay.properties");
            List<String> good = List.of(
                    "listen.port = " + relayPort,
                    "upstream.host = 127.0.0.1",
                    "upstream.port = " + upstream.port(),
                    "upstream.tls.ca-file = " + pki.writeCa(dir),
                    "delivery.mode = pass-through",
                    "admin.port = " + adminPort,
                    "audit.file = " + dir.resolve("audit.jsonl"));
            Files.write(config, good);
            try (TlsRelayProcess relay = TlsRelayProcess.start(dir, "run", "--config", config.toString())) {
                relay.awaitLine(l -> l.contains("ready (pid"), Duration.ofSeconds(60));
                long pid = relay.pid();

                // A broken file is refused, and the relay keeps working with what it had.
                Files.writeString(config, "upstream.host = 127.0.0.1\nupstream.security = plaintext\n");
                signal("HUP", pid);
                relay.awaitLine(l -> l.contains("reload refused") && l.contains("upstream.security = plaintext"),
                        Duration.ofSeconds(20));
                assertTrue(LegacyClient.send(relayPort, "scanner@office.test", LegacyClient.sampleMessage("after bad"),
                        "admin@office.test").startsWith("250"));

                // A good one is applied.
                Files.write(config, good);
                Files.writeString(config, "listen.max-errors = 3\n", java.nio.file.StandardOpenOption.APPEND);
                signal("HUP", pid);
                relay.awaitLine(l -> l.contains("configuration reloaded"), Duration.ofSeconds(20));

                // The health check sees it up.
                try (TlsRelayProcess check = TlsRelayProcess.start(dir, "healthcheck", "--port",
                        String.valueOf(adminPort))) {
                    assertEquals(0, check.waitFor(Duration.ofSeconds(60)), check.output());
                    assertTrue(check.output().contains("\"status\" : \"ok\""), check.output());
                }

                // SIGTERM while a message is half sent: it still completes, then the relay exits.
                try (RawSmtp c = RawSmtp.connect(relayPort)) {
                    c.reply();
                    c.command("EHLO scanner.lan");
                    c.command("MAIL FROM:<scanner@office.test>");
                    c.command("RCPT TO:<admin@office.test>");
                    assertTrue(c.command("DATA").startsWith("354"));
                    c.sendRaw("Subject: during shutdown\r\n\r\nfirst half\r\n".getBytes(StandardCharsets.US_ASCII));
                    signal("TERM", pid);
                    Thread.sleep(500);
                    c.sendRaw("second half\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
                    String reply = c.reply();
                    assertTrue(reply.startsWith("250"), reply);
                }
                int exit = relay.waitFor(Duration.ofSeconds(40));
                assertTrue(exit == 0 || exit == 143, "clean exit after SIGTERM, got " + exit);
            }
            assertTrue(upstream.awaitMessages(2, Duration.ofSeconds(10)));
        }
        try (TlsRelayProcess check = TlsRelayProcess.start(dir, "healthcheck", "--port",
                String.valueOf(Catchers.unusedPort()))) {
            assertEquals(1, check.waitFor(Duration.ofSeconds(60)), "nothing listening is unhealthy");
        }
    }

    @Test
    void theSystemdUnitVerifies() throws Exception {
        Path analyze = Path.of("/usr/bin/systemd-analyze");
        Assumptions.assumeTrue(Files.isExecutable(analyze), "systemd-analyze is not installed here");
        Path unit = Path.of("systemd/tlsrelay.service").toAbsolutePath();
        Process p = new ProcessBuilder(analyze.toString(), "verify", unit.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        // Only complaints about this unit count; the machine may lack /usr/bin/java or other units.
        List<String> ours = out.lines().filter(l -> l.contains("tlsrelay.service"))
                .filter(l -> !l.contains("/usr/bin/java") && !l.contains("Command /usr/bin/java")).toList();
        assertTrue(ours.isEmpty(), out);
    }

    @Test
    void theDockerfileNamesWhatTheBuildProduces() throws Exception {
        String dockerfile = Files.readString(Path.of("Dockerfile"));
        String pom = Files.readString(Path.of("pom.xml"));
        assertTrue(pom.contains("<finalName>tlsrelay</finalName>"), "the image copies target/tlsrelay.jar");
        assertTrue(dockerfile.contains("COPY --from=build /src/target/tlsrelay.jar /opt/tlsrelay/tlsrelay.jar"));
        assertTrue(dockerfile.contains("COPY conf/tlsrelay.properties") && Files.exists(Path.of("conf/tlsrelay.properties")));
        assertTrue(dockerfile.contains("COPY src src") && Files.isDirectory(Path.of("src/main/java")));
        assertTrue(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("\"healthcheck\""),
                "the health check uses the relay's own healthcheck command");
        assertTrue(dockerfile.contains("USER tlsrelay"), "runs as non-root");
        assertTrue(dockerfile.contains("EXPOSE 2525"));
        assertEquals(0, dev.tlsrelay.cli.Main.execute("healthcheck", "--help"));
    }
}
