package dev.tlsrelay.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.ManualClock;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hash chain on a real log: messages relayed through a real relay (restarted once) into an audit
 * file small enough to rotate several times; then each kind of tampering, on a copy, is found at the
 * right file and line.
 */
@Timeout(120)
class AuditChainTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;

    @TempDir
    Path dir;

    /** The pristine log: rotated files, oldest first, then the active file. */
    static List<Path> log;
    static TestPki pki;

    @BeforeAll
    static void relayRealMessagesIntoARotatingLogWithARestart() throws Exception {
        pki = new TestPki();
        Path audit = shared.resolve("logs/tlsrelay-audit.jsonl");
        try (Catcher catcher = Catchers.start(shared.resolve("caught"), TlsMode.STARTTLS, pki.good())) {
            Map<String, String> settings = upstream(catcher, shared);
            settings.put("audit.file", audit.toString());
            settings.put("audit.rotate.max-size", "3KiB");
            for (int run = 0; run < 2; run++) {
                try (RelayFixture relay = RelayFixture.start(shared, settings)) {
                    for (int i = 0; i < 5; i++) {
                        LegacyClient.send(relay.port(), "printer@office.test",
                                LegacyClient.sampleMessage("run " + run + " scan " + i), "admin@office.test");
                    }
                    awaitEvents(relay, "message.relayed", 5 * (run + 1));
                }
            }
        }
        log = AuditFiles.discover(audit);
    }

    @Test
    void chainHoldsOverEveryRotatedFileAndAcrossTheRestart() throws Exception {
        assertTrue(log.size() >= 4, "expected several rotated files, got " + log);
        assertEquals("tlsrelay-audit.jsonl", log.get(log.size() - 1).getFileName().toString());

        Verification v = ChainVerifier.verify(log, Optional.empty());

        assertTrue(v.intact(), v.verdict());
        List<JsonNode> all = new ArrayList<>();
        for (Path f : log) {
            List<JsonNode> lines = lines(f);
            if (!f.equals(log.get(log.size() - 1))) {
                // A rotated file is named after the seq of its first line.
                assertEquals(String.format("tlsrelay-audit.%012d.jsonl", lines.get(0).get("seq").asLong()),
                        f.getFileName().toString());
            }
            all.addAll(lines);
        }
        assertEquals(all.size(), v.lines());
        for (int i = 0; i < all.size(); i++) {
            assertEquals(i + 1, all.get(i).get("seq").asLong(), "seq counts up by one across files and restarts");
        }
        List<JsonNode> starts = all.stream().filter(j -> j.get("event").asText().equals("audit.started")).toList();
        assertEquals(2, starts.size());
        assertEquals("none", starts.get(0).get("previous").asText());
        assertEquals("clean-stop", starts.get(1).get("previous").asText());
        assertEquals("audit.stopped", all.get(all.size() - 1).get("event").asText());
        assertEquals(10, all.stream().filter(j -> j.get("event").asText().equals("message.relayed")).count());
        assertTrue(v.notes().isEmpty(), v.notes().toString());
    }

    @Test
    void chainCanBeRecomputedWithoutTlsrelayAsTheReadmeDescribes() throws Exception {
        byte[] prev = new byte[32];
        for (Path f : log) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                Matcher m = Pattern.compile(",\"chain\":\"([0-9a-f]{64})\"}$").matcher(line);
                assertTrue(m.find(), line);
                String canonical = line.substring(0, m.start()) + "}";
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                sha.update(prev);
                byte[] chain = sha.digest(canonical.getBytes(StandardCharsets.UTF_8));
                assertEquals(m.group(1), HexFormat.of().formatHex(chain));
                assertFalse(JSON.readTree(canonical).has("chain"));
                prev = chain;
            }
        }
    }

    @Test
    void anEditedFieldIsFoundAtItsLine() throws Exception {
        List<Path> copy = copyLog();
        Path file = copy.get(1);
        int line = lineOf(file, "\"event\":\"tls.handshake\"");
        edit(file, line, l -> l.replace("\"outcome\":\"ok\"", "\"outcome\":\"failed\""));

        Verification.Finding p = brokenAt(copy, file, line);
        assertTrue(p.what().contains("edited"), p.what());
    }

    @Test
    void aDeletedLineIsFoundWhereItWas() throws Exception {
        List<Path> copy = copyLog();
        Path file = copy.get(1);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        lines.remove(1); // line 2
        Files.write(file, lines);

        Verification.Finding p = brokenAt(copy, file, 2);
        assertTrue(p.what().contains("1 line(s) missing"), p.what());
    }

    @Test
    void swappedLinesAreFoundAtTheFirstOfThem() throws Exception {
        List<Path> copy = copyLog();
        Path file = copy.get(2);
        List<String> lines = new ArrayList<>(Files.readAllLines(file));
        String second = lines.get(1);
        lines.set(1, lines.get(2));
        lines.set(2, second);
        Files.write(file, lines);

        brokenAt(copy, file, 2);
    }

    @Test
    void aTruncatedTailIsFoundAfterTheLastLineLeft() throws Exception {
        List<Path> copy = copyLog();
        // Remove the last two lines of the log (the stop record and the last message), wherever they are.
        int toRemove = 2;
        for (int i = copy.size() - 1; toRemove > 0; i--) {
            List<String> lines = new ArrayList<>(Files.readAllLines(copy.get(i)));
            int n = Math.min(toRemove, lines.size());
            Files.write(copy.get(i), lines.subList(0, lines.size() - n));
            toRemove -= n;
        }
        Path last = copy.get(copy.size() - 1);
        for (int i = copy.size() - 1; Files.size(last) == 0; i--) {
            last = copy.get(i - 1);
        }
        int kept = Files.readAllLines(last).size();

        Verification.Finding p = brokenAt(copy, last, kept + 1);
        assertTrue(p.what().contains("ends after line " + kept + " without the relay's stop record"), p.what());
    }

    @Test
    void aWholeRotatedFileRemovedIsFoundAtTheStartOfTheNext() throws Exception {
        List<Path> copy = new ArrayList<>(copyLog());
        Files.delete(copy.remove(1));

        Verification.Finding p = brokenAt(copy, copy.get(1), 1);
        assertTrue(p.what().contains("a whole rotated file removed"), p.what());
        // The same when the files are found by name, as `tlsrelay audit verify` does without arguments.
        assertEquals(p, ChainVerifier.verify(AuditFiles.discover(copy.get(copy.size() - 1)), Optional.empty())
                .problem().orElseThrow());
    }

    @Test
    void theOldestFileRemovedIsFoundAtTheNewStart() throws Exception {
        List<Path> copy = new ArrayList<>(copyLog());
        Files.delete(copy.remove(0));

        Verification.Finding p = brokenAt(copy, copy.get(0), 1);
        assertTrue(p.what().contains("no audit.pruned record"), p.what());
    }

    @Test
    void hmacChainResistsAnEditorWhoRecomputesTheHashes() throws Exception {
        Path keyFile = dir.resolve("audit.key");
        Files.writeString(keyFile, "q1F0v7oH1t7yC9k2m9d3Xc8wzLr4b6N5u1pQe0sTa2Y=\n");
        AuditKey key = AuditKey.read(keyFile);
        Path audit = dir.resolve("hmac/audit.jsonl");
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good())) {
            Map<String, String> settings = upstream(catcher, dir);
            settings.put("audit.file", audit.toString());
            settings.put("audit.hmac-key-file", keyFile.toString());
            try (RelayFixture relay = RelayFixture.start(dir, settings)) {
                LegacyClient.send(relay.port(), "printer@office.test", LegacyClient.sampleMessage("hmac"),
                        "admin@office.test");
                awaitEvents(relay, "message.relayed", 1);
            }
        }
        assertTrue(ChainVerifier.verify(List.of(audit), Optional.of(key)).intact());
        JsonNode started = lines(audit).get(0);
        assertEquals("hmac-sha256", started.get("chain_alg").asText());
        assertEquals(key.id(), started.get("key_id").asText());

        // Without the key, or with another one, the verifier says which key the log wants.
        String without = ChainVerifier.verify(List.of(audit), Optional.empty()).problem().orElseThrow().what();
        assertTrue(without.contains("pass the key with --hmac-key-file"), without);
        AuditKey other = AuditKey.of(new byte[32]);
        String wrong = ChainVerifier.verify(List.of(audit), Optional.of(other)).problem().orElseThrow().what();
        assertTrue(wrong.contains("key id " + key.id()), wrong);

        // An editor without the key changes the message's size and recomputes the chain from there with SHA-256.
        int line = lineOf(audit, "\"event\":\"message.relayed\"");
        edit(audit, line, l -> l.replaceFirst("\"size\":\\d+", "\"size\":1"));
        rechainWithSha256(audit, line);
        Verification.Finding p = ChainVerifier.verify(List.of(audit), Optional.of(key)).problem().orElseThrow();
        assertEquals(line, p.line(), p.toString());
        assertTrue(p.what().contains("edited"), p.what());

        // Rewriting the whole log with SHA-256 does not help either: it claims HMAC, yet matches SHA-256.
        rechainWithSha256(audit, 1);
        assertEquals(1, ChainVerifier.verify(List.of(audit), Optional.of(key)).problem().orElseThrow().line());
        String forged = ChainVerifier.verify(List.of(audit), Optional.empty()).problem().orElseThrow().what();
        assertTrue(forged.contains("recomputed without the key"), forged);
    }

    @Test
    void aLiveLogVerifiesWhileTheRelayWritesIt() throws Exception {
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
                RelayFixture relay = RelayFixture.start(dir, upstream(catcher, dir))) {
            LegacyClient.send(relay.port(), "printer@office.test", LegacyClient.sampleMessage("live"),
                    "admin@office.test");
            awaitEvents(relay, "message.relayed", 1);

            Verification v = ChainVerifier.verify(List.of(relay.auditFile), Optional.empty());
            assertTrue(v.intact(), v.verdict());
            assertTrue(v.live());

            // A second writer would interleave a second chain: refused.
            IOException e = assertThrows(IOException.class, () -> AuditLog.open(relay.auditFile));
            assertTrue(e.getMessage().contains("already being written by another relay"), e.getMessage());
        }
    }

    @Test
    void aCrashLeftoverIsRecordedAtTheNextStartNotHidden() throws Exception {
        List<Path> copy = copyLog();
        Path active = copy.get(copy.size() - 1);
        // Killed mid-write: no stop record, and half a line at the end.
        List<String> lines = new ArrayList<>(Files.readAllLines(active));
        lines.remove(lines.size() - 1);
        Files.write(active, lines);
        Files.writeString(active, "{\"seq\":999,\"ts\":\"2026-", StandardOpenOption.APPEND);

        AuditLog.open(active).close();

        Verification v = ChainVerifier.verify(copy, Optional.empty());
        assertTrue(v.intact(), v.verdict());
        assertEquals(2, v.notes().size(), v.notes().toString());
        assertTrue(v.notes().get(0).what().contains("incomplete line left by a crash"), v.notes().toString());
        assertEquals(lines.size() + 1, v.notes().get(0).line());
        assertTrue(v.notes().get(1).what().contains("without a stop record"), v.notes().toString());
        JsonNode started = JSON.readTree(Files.readAllLines(active).get(lines.size() + 1));
        assertEquals("audit.started", started.get("event").asText());
        assertTrue(started.get("damaged_tail").asBoolean());
        assertEquals("no-stop-record", started.get("previous").asText());
    }

    @Test
    void retentionDeletesOldFilesAndRecordsWhereTheKeptChainStarts() throws Exception {
        Path audit = dir.resolve("kept/audit.jsonl");
        try (Catcher catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good())) {
            Map<String, String> settings = upstream(catcher, dir);
            settings.put("audit.file", audit.toString());
            settings.put("audit.rotate.max-size", "3KiB");
            settings.put("audit.max-history", "2");
            try (RelayFixture relay = RelayFixture.start(dir, settings)) {
                // Retention deletes lines as they are written, so count the events as they go by.
                AtomicInteger relayed = new AtomicInteger();
                relay.relay.audit().addListener(e -> {
                    if (e instanceof AuditEvent.Message m && m.relayed()) {
                        relayed.incrementAndGet();
                    }
                });
                for (int i = 0; i < 8; i++) {
                    LegacyClient.send(relay.port(), "printer@office.test", LegacyClient.sampleMessage("keep " + i),
                            "admin@office.test");
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (relayed.get() < 8 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertEquals(8, relayed.get());
            }
        }
        List<Path> files = AuditFiles.discover(audit);
        assertEquals(3, files.size(), "two rotated files kept, plus the active one: " + files);

        Verification v = ChainVerifier.verify(files, Optional.empty());
        assertTrue(v.intact(), v.verdict());
        assertTrue(v.firstSeq() > 1);
        assertTrue(v.notes().stream().anyMatch(n -> n.what().contains("deleted by the relay's retention")),
                v.notes().toString());

        // Removing the oldest kept file is still caught: no retention record accounts for that start.
        Files.delete(files.get(0));
        assertTrue(ChainVerifier.verify(files.subList(1, files.size()), Optional.empty()).problem().orElseThrow()
                .what().contains("no audit.pruned record"));
    }

    @Test
    void dailyRotationCutsAtMidnightUtcAndTheChainRunsOn() throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-03-01T23:58:00Z"));
        Path audit = dir.resolve("daily/audit.jsonl");
        AuditLog.Options options = new AuditLog.Options(new Rotation(0, true, 0), Optional.empty(), Optional.empty(),
                clock);
        try (AuditLog log = AuditLog.open(audit, options)) {
            log.write(message(clock.instant()));
            clock.advanceTo(Instant.parse("2026-03-02T00:00:01Z"));
            log.write(message(clock.instant()));
            clock.advanceTo(Instant.parse("2026-03-02T12:00:00Z"));
            log.write(message(clock.instant()));
        }
        List<Path> files = AuditFiles.discover(audit);
        assertEquals(List.of("audit.000000000001.jsonl", "audit.jsonl"),
                files.stream().map(f -> f.getFileName().toString()).toList());
        assertEquals(2, lines(files.get(0)).size(), "audit.started and the message before midnight");
        assertTrue(ChainVerifier.verify(files, Optional.empty()).intact());
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static Map<String, String> upstream(Catcher catcher, Path dir) throws IOException {
        Map<String, String> settings = new HashMap<>();
        settings.put("upstream.host", "127.0.0.1");
        settings.put("upstream.port", String.valueOf(catcher.port()));
        settings.put("upstream.security", "starttls");
        settings.put("upstream.tls.ca-file", pki.writeCa(dir).toString());
        // A connection (and so a tls.handshake line) per message: these tests count lines.
        settings.put("upstream.pool.max-messages-per-connection", "1");
        return settings;
    }

    static void awaitEvents(RelayFixture relay, String event, int count) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (relay.audit(event).size() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("fewer than " + count + " " + event + " lines within 10 s");
            }
            Thread.sleep(20);
        }
    }

    private List<Path> copyLog() throws IOException {
        Path to = Files.createDirectories(dir.resolve("copy"));
        List<Path> out = new ArrayList<>();
        for (Path f : log) {
            out.add(Files.copy(f, to.resolve(f.getFileName())));
        }
        return out;
    }

    private static Verification.Finding brokenAt(List<Path> files, Path file, long line) throws IOException {
        Verification v = ChainVerifier.verify(files, Optional.empty());
        Verification.Finding p = v.problem().orElseThrow(() -> new AssertionError("tampering not detected"));
        assertEquals(file, p.file(), p.toString());
        assertEquals(line, p.line(), p.toString());
        return p;
    }

    private static List<JsonNode> lines(Path f) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(f)) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    private static int lineOf(Path f, String needle) throws IOException {
        List<String> lines = Files.readAllLines(f);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(needle)) {
                return i + 1;
            }
        }
        throw new AssertionError(needle + " not in " + f);
    }

    private static void edit(Path f, int line, java.util.function.UnaryOperator<String> change) throws IOException {
        List<String> lines = new ArrayList<>(Files.readAllLines(f));
        String before = lines.get(line - 1);
        lines.set(line - 1, change.apply(before));
        assertFalse(before.equals(lines.get(line - 1)), "the edit changed nothing");
        Files.write(f, lines);
    }

    /** What an editor without the HMAC key can do: recompute the chain values from {@code fromLine} with SHA-256. */
    private static void rechainWithSha256(Path f, int fromLine) throws Exception {
        List<String> out = new ArrayList<>();
        byte[] prev = new byte[32];
        List<String> lines = Files.readAllLines(f);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            Matcher m = Pattern.compile(",\"chain\":\"([0-9a-f]{64})\"}$").matcher(line);
            assertTrue(m.find());
            if (i + 1 < fromLine) {
                out.add(line);
                prev = HexFormat.of().parseHex(m.group(1));
                continue;
            }
            String canonical = line.substring(0, m.start()) + "}";
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(prev);
            prev = sha.digest(canonical.getBytes(StandardCharsets.UTF_8));
            out.add(line.substring(0, m.start()) + ",\"chain\":\"" + HexFormat.of().formatHex(prev) + "\"}");
        }
        Files.write(f, out);
    }

    private static AuditEvent.Message message(Instant at) {
        return new AuditEvent.Message(at, "S1", "127.0.0.1", "printer@office.test", List.of("admin@office.test"), 1,
                100, true, OptionalInt.of(250), Optional.of("250 ok"), Optional.empty(), Optional.empty());
    }
}
