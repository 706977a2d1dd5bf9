package dev.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RawSmtp;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.TlsRelayProcess;
import dev.tlsrelay.tls.TlsMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * conf/jvm.options is what the systemd unit, the Docker image and the benchmark run the relay with:
 * every one of them names it, the JVM accepts it, and under its heap cap the relay still holds 1,000
 * client sessions and streams a 200 MB message.
 */
class ShippedJvmOptionsTest {

    private static final String OPTIONS = "@/etc/tlsrelay/jvm.options";
    private static final int MB = 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void theUnitTheImageAndTheInstructionsUseTheOneOptionsFile() throws IOException {
        String unit = Files.readString(Path.of("systemd/tlsrelay.service"));
        String docker = Files.readString(Path.of("Dockerfile"));
        String readme = Files.readString(Path.of("README.md"));
        String execStart = line(unit, "ExecStart");
        assertTrue(execStart.startsWith("/usr/bin/java " + OPTIONS + " "), execStart);
        assertTrue(readme.contains("install -D -m 0644 conf/jvm.options /etc/tlsrelay/jvm.options"),
                "the service install copies the options file where the unit reads it");
        assertTrue(docker.contains("COPY conf/jvm.options /etc/tlsrelay/jvm.options"));
        assertTrue(docker.contains("ENTRYPOINT [\"java\", \"" + OPTIONS + "\", "), "the image runs with the same file");
        // src/bench/run reads the unit's ExecStart: the options between java and -jar.
        assertTrue(execStart.contains(" -jar /opt/tlsrelay/tlsrelay.jar run "), execStart);
    }

    @Test
    void theUnitsClassDataArchiveIsWritableAndReplacedWithTheJar() throws IOException {
        String unit = Files.readString(Path.of("systemd/tlsrelay.service"));
        String archive = group(line(unit, "ExecStart"), "-XX:SharedArchiveFile=(\\S+)");
        assertTrue(line(unit, "ExecStart").contains("-XX:+AutoCreateSharedArchive"));
        // ProtectSystem=strict: only the unit's own directories are writable; CacheDirectory is one.
        assertEquals("/var/cache/" + line(unit, "CacheDirectory") + "/" + Path.of(archive).getFileName(), archive);
        // The JVM does not replace an archive made for another jar (it only ignores it): the unit deletes it.
        String pre = line(unit, "ExecStartPre");
        assertTrue(pre.startsWith("-/usr/bin/find " + Path.of(archive).getParent() + " "), pre);
        assertTrue(pre.contains("-name " + Path.of(archive).getFileName() + " ! -newermc /opt/tlsrelay/tlsrelay.jar -delete"),
                pre);
    }

    @Test
    void theImageUsesTheAotCacheItsTrainingRunWrites() throws IOException {
        String docker = Files.readString(Path.of("Dockerfile"));
        String cache = group(docker, "-XX:AOTCacheOutput=(\\S+)");
        assertTrue(docker.contains("\"-XX:AOTCache=" + cache + "\", \"-jar\""), "ENTRYPOINT and HEALTHCHECK use it");
        assertEquals(2, docker.split(Pattern.quote("\"-XX:AOTCache=" + cache + "\""), -1).length - 1);
        assertTrue(docker.contains("java " + OPTIONS + " -XX:AOTCacheOutput="), "trained with the options it runs with");
    }

    @Test
    void theJvmAcceptsTheOptionsFile() throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@conf/jvm.options", "-XX:+PrintFlagsFinal", "-version").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.lines().anyMatch(l -> l.matches("\\s*bool UseSerialGC\\s+= true.*command line.*")), out);
    }

    @Test
    @Timeout(300)
    void underTheShippedOptionsTheRelayHoldsAThousandSessionsAndStreamsA200MbMessage() throws Exception {
        TestPki pki = new TestPki();
        int relayPort = Catchers.unusedPort();
        List<RawSmtp> idle = new ArrayList<>();
        try (Catcher upstream = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good())) {
            Path config = dir.resolve("tlsrelay.properties");
            Files.write(config, List.of(
                    "listen.port = " + relayPort,
                    "listen.max-connections = 1100",
                    "listen.max-connections-per-ip = 1100",
                    "listen.rate-per-ip = 100000",
                    "listen.max-message-size = 300MiB",
                    "upstream.host = 127.0.0.1",
                    "upstream.port = " + upstream.port(),
                    "upstream.tls.ca-file = " + pki.writeCa(dir),
                    "delivery.mode = pass-through",
                    "audit.file = " + dir.resolve("audit.jsonl")));
            Path options = Path.of("conf/jvm.options").toAbsolutePath();
            try (TlsRelayProcess relay = TlsRelayProcess.start(dir, List.of("@" + options), "run", "--config",
                    config.toString())) {
                relay.awaitLine(l -> l.contains("ready (pid"), Duration.ofSeconds(60));
                for (int i = 0; i < 1000; i++) {
                    RawSmtp c = RawSmtp.connect(relayPort);
                    idle.add(c);
                    assertTrue(c.reply().startsWith("220"));
                    assertTrue(c.command("EHLO device-" + i + ".lan").startsWith("250"));
                }
                try (RawSmtp c = RawSmtp.connect(relayPort)) {
                    assertTrue(c.reply().startsWith("220"));
                    c.command("EHLO scanner.lan");
                    c.command("MAIL FROM:<scanner@office.test>");
                    c.command("RCPT TO:<admin@office.test>");
                    assertTrue(c.command("DATA").startsWith("354"));
                    c.sendRaw("Subject: huge\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    byte[] block = RawSmtp.mebibyteOfLines();
                    for (int i = 0; i < 200; i++) {
                        c.sendRaw(block);
                    }
                    c.sendRaw(".\r\n".getBytes(StandardCharsets.US_ASCII));
                    String reply = c.reply();
                    assertTrue(reply.startsWith("250"), reply + "\n" + relay.output());
                }
                assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(60)));
                assertTrue(Files.size(upstream.received().get(0).eml()) > 199L * MB);
                for (RawSmtp c : idle) {
                    assertTrue(c.command("NOOP").startsWith("250"), "every idle session is still served");
                }
                assertFalse(relay.output().contains("OutOfMemoryError"), relay.output());
            } finally {
                for (RawSmtp c : idle) {
                    c.close();
                }
            }
        }
    }

    private static String line(String unit, String key) {
        return group(unit, "(?m)^" + key + "=(.*)$");
    }

    private static String group(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), "no " + regex);
        return m.group(1);
    }
}
