package dev.tlsrelay.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.Relay;
import dev.tlsrelay.audit.AuditFiles;
import dev.tlsrelay.config.ConfigLoader;
import dev.tlsrelay.config.RelayConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Starts a real relay on an ephemeral loopback port with the given settings. */
public final class RelayFixture implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    public final Relay relay;
    public final Path auditFile;

    private RelayFixture(Relay relay, Path auditFile) {
        this.relay = relay;
        this.auditFile = auditFile;
    }

    /**
     * A relay listening on 127.0.0.1:0 with {@code settings} on top of the defaults (pass-through
     * delivery unless the settings say otherwise; spool and audit inside {@code dir}).
     */
    public static RelayFixture start(Path dir, Map<String, String> settings) throws Exception {
        return start(dir, settings, Map.of());
    }

    /** Like {@link #start(Path, Map)}, with {@code environment} as the relay's {@code TLSRELAY_*} variables. */
    public static RelayFixture start(Path dir, Map<String, String> settings, Map<String, String> environment)
            throws Exception {
        return start(dir, settings, environment, Clock.systemUTC());
    }

    /** Like {@link #start(Path, Map, Map)}, telling time by {@code clock} (see {@link Relay#start(RelayConfig, Clock)}). */
    public static RelayFixture start(Path dir, Map<String, String> settings, Map<String, String> environment,
            Clock clock) throws Exception {
        Map<String, String> all = new HashMap<>();
        all.put("listen.port", "0");
        all.put("listen.timeout", "20s");
        all.put("listen.drain-timeout", "5s");
        all.put("upstream.timeout", "10s");
        all.put("audit.file", dir.resolve("audit.jsonl").toString());
        all.put("delivery.mode", "pass-through");
        all.put("spool.dir", dir.resolve("spool").toString());
        all.putAll(settings);
        RelayConfig config = ConfigLoader.fromValues(all, environment);
        return new RelayFixture(Relay.start(config, clock), config.audit().file());
    }

    /** A relay whose upstream is {@code catcher} (STARTTLS, verified against {@code pki}'s CA), plus {@code extra}. */
    public static RelayFixture startFor(Path dir, dev.tlsrelay.catcher.Catcher catcher, TestPki pki,
            Map<String, String> extra) throws Exception {
        Map<String, String> s = new HashMap<>(Map.of(
                "upstream.host", "127.0.0.1",
                "upstream.port", String.valueOf(catcher.port()),
                "upstream.tls.ca-file", pki.writeCa(dir).toString()));
        s.putAll(extra);
        return start(dir, s);
    }

    public int port() {
        return relay.port();
    }

    /** Every audit line so far, parsed: rotated files first, then the active one. */
    public List<JsonNode> audit() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (Path file : AuditFiles.discover(auditFile)) {
            for (String line : Files.readAllLines(file)) {
                if (!line.isBlank()) {
                    out.add(JSON.readTree(line));
                }
            }
        }
        return out;
    }

    /** Audit lines of one event type. */
    public List<JsonNode> audit(String event) throws IOException {
        return audit().stream().filter(n -> event.equals(n.path("event").asText())).toList();
    }

    /**
     * Waits until at least {@code count} lines of {@code event} were written, then returns them. Some
     * events (the message outcome) are written when the client's transaction ends, which can be
     * just after the client has its reply.
     */
    public List<JsonNode> awaitAudit(String event, int count, Duration timeout) throws IOException,
            InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<JsonNode> lines = audit(event);
        while (lines.size() < count && System.nanoTime() < deadline) {
            Thread.sleep(20);
            lines = audit(event);
        }
        if (lines.size() < count) {
            throw new AssertionError("expected " + count + " audit line(s) of " + event + " within " + timeout
                    + ", the audit holds: " + audit());
        }
        return lines;
    }

    /** The raw audit file (empty if nothing was written yet). */
    public String auditText() throws IOException {
        return Files.exists(auditFile) ? Files.readString(auditFile) : "";
    }

    @Override
    public void close() {
        relay.close();
    }
}
