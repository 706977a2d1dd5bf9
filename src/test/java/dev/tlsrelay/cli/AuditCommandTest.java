package dev.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.support.AuditScenario;
import dev.tlsrelay.support.TlsRelayProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code tlsrelay audit ...} as an operator runs it: a separate process, real files, exit codes. */
@Timeout(120)
class AuditCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void verifyFindsTheLogThroughTheConfigAndExitsZero() throws Exception {
        AuditScenario sc = AuditScenario.get();
        Path config = dir.resolve("tlsrelay.properties");
        Files.writeString(config, "upstream.host = smtp.example.com\naudit.file = " + sc.auditFile + "\n");

        Run r = run("audit", "verify", "--config", config.toString());

        assertEquals(0, r.exit, r.output);
        assertTrue(r.output.contains("OK: chain intact: " + sc.lines().size() + " lines"), r.output);
        for (Path f : sc.files()) {
            assertTrue(r.output.contains("  " + f), "every piece is listed, in order: " + r.output);
        }
    }

    @Test
    void verifyNamesTheBrokenLineAndExitsOne() throws Exception {
        AuditScenario sc = AuditScenario.get();
        List<String> args = new ArrayList<>(List.of("audit", "verify"));
        List<Path> copy = new ArrayList<>();
        for (Path f : sc.files()) {
            copy.add(Files.copy(f, dir.resolve(f.getFileName())));
            args.add(copy.get(copy.size() - 1).toString());
        }
        List<String> lines = new ArrayList<>(Files.readAllLines(copy.get(1)));
        lines.set(2, lines.get(2).replaceFirst("\"ts\":\"[^\"]+\"", "\"ts\":\"2020-01-01T00:00:00Z\""));
        Files.write(copy.get(1), lines);

        Run r = run(args.toArray(String[]::new));

        assertEquals(1, r.exit, r.output);
        assertTrue(r.output.contains("BROKEN: " + copy.get(1) + ":3: content does not match its chain value"),
                r.output);
    }

    @Test
    void verifyOfAMissingFileIsAUsageError() throws Exception {
        Run r = run("audit", "verify", dir.resolve("nope.jsonl").toString());
        assertEquals(2, r.exit, r.output);
        assertTrue(r.output.contains("nope.jsonl does not exist"), r.output);
    }

    @Test
    void summaryJsonSaysNoMailLeftWithoutTls() throws Exception {
        AuditScenario sc = AuditScenario.get();
        List<String> args = new ArrayList<>(List.of("audit", "summary", "--json"));
        sc.files().forEach(f -> args.add(f.toString()));

        Run r = run(args.toArray(String[]::new));

        assertEquals(0, r.exit, r.output);
        JsonNode s = JSON.readTree(r.output.substring(r.output.indexOf('{')));
        long relayed = sc.lines().stream().filter(j -> j.get("event").asText().equals("message.relayed")).count();
        long handshakes = sc.lines().stream().filter(j -> j.get("event").asText().equals("tls.handshake")).count();
        assertEquals(relayed, s.at("/messages/relayed").asLong());
        assertEquals(handshakes, s.at("/handshakes/total").asLong());
        assertEquals(0, s.at("/messages/relayed_without_tls").asLong());
        assertTrue(s.at("/messages/tls_verdict").asText().startsWith("Messages relayed without verified TLS 1.2+: 0."));
        assertTrue(s.at("/chain/intact").asBoolean());
    }

    @Test
    void searchPrintsMatchingLinesAndExitsOneWhenNothingMatches() throws Exception {
        AuditScenario sc = AuditScenario.get();
        List<String> args = new ArrayList<>(List.of("audit", "search", "--client", "127.0.0.3", "--json"));
        sc.files().forEach(f -> args.add(f.toString()));

        Run r = run(args.toArray(String[]::new));

        assertEquals(0, r.exit, r.output);
        List<String> printed = r.output.lines().filter(l -> l.startsWith("{")).toList();
        assertEquals(2, printed.size(), r.output + "\n---\n" + printed);
        for (String l : printed) {
            assertEquals("127.0.0.3", JSON.readTree(l).get("client").asText());
        }
        args.set(3, "10.9.9.9");
        assertEquals(1, run(args.toArray(String[]::new)).exit);
        Run badTime = run("audit", "search", "--since", "last tuesday", sc.auditFile.toString());
        assertEquals(2, badTime.exit);
        assertTrue(badTime.output.contains("use a duration back from now"), badTime.output);
    }

    private record Run(int exit, String output) {}

    private Run run(String... args) throws Exception {
        try (TlsRelayProcess p = TlsRelayProcess.start(dir, args)) {
            int exit = p.waitFor(Duration.ofSeconds(60));
            return new Run(exit, p.output());
        }
    }
}
