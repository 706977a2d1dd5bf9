package dev.tlsrelay.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Checks the hash chain of an audit log over its files in order, and stops at the first line that
 * breaks it. What each check catches:
 *
 * <ul>
 *   <li>a line edited: its content no longer gives its {@code chain} value (with an HMAC key, even when
 *       the editor recomputed the chain);
 *   <li>a line removed, lines swapped, a whole rotated file removed: {@code seq} jumps where it should
 *       count up by one;
 *   <li>the tail removed: the last file does not end with the relay's {@code audit.stopped} line while
 *       no relay holds it open;
 *   <li>the oldest files removed: the chain starts after seq 1 and no {@code audit.pruned} line of the
 *       relay's retention accounts for it.
 * </ul>
 */
public final class ChainVerifier {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Chain chain;
    private final List<Path> files;
    private final boolean live;
    private final List<Verification.Finding> notes = new ArrayList<>();

    private Verification.Finding problem;
    private long lines;
    private long firstSeq;
    private long lastSeq;
    private String prevChain;
    private String lastEvent = "";
    private AuditLines.Line lastLine;
    /** A first line after seq 1, whose link can only be checked against an audit.pruned record. */
    private Pending startAfterOne;
    /** A line that is not an audit line: fine only as a crash's leftover, confirmed by the next start. */
    private AuditLines.Line damaged;
    /** What the log says about how it was chained, for hints when the check fails at its first line. */
    private Optional<String> writtenAlg = Optional.empty();
    private Optional<String> writtenKeyId = Optional.empty();

    private record Pending(AuditLines.Line line, long seq, String canonical, String chain) {}

    private ChainVerifier(List<Path> files, Optional<AuditKey> key) {
        this.chain = new Chain(key);
        this.files = List.copyOf(files);
        Path last = files.get(files.size() - 1);
        this.live = !AuditFiles.isRotated(last) && AuditFiles.inUse(last);
    }

    /**
     * Verifies {@code files}, oldest first (rotated files in order, the active file last).
     *
     * @param key the HMAC key the relay wrote with ({@code audit.hmac-key-file}); empty for a SHA-256 chain
     * @throws IOException if a file cannot be read
     */
    public static Verification verify(List<Path> files, Optional<AuditKey> key) throws IOException {
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no audit files to verify");
        }
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                throw new IOException("audit file " + f + " does not exist or is not a file");
            }
        }
        ChainVerifier v = new ChainVerifier(files, key);
        AuditLines.read(files, v::visit);
        v.finish();
        return new Verification(v.files, v.lines, v.firstSeq, v.lastSeq, v.live, v.chain.algorithm(),
                Optional.ofNullable(v.problem), List.copyOf(v.notes));
    }

    private boolean visit(AuditLines.Line line) {
        if (damaged != null) {
            // The line after a damaged one must be the relay's start record saying it found it so.
            if (!isDamageRecord(line)) {
                return fail(damaged, describeUnreadable(damaged));
            }
            notes.add(new Verification.Finding(damaged.file(), damaged.number(), "incomplete line left by a crash"
                    + " in the middle of a write; the relay recorded it when it started again (next line)"));
            damaged = null;
        }
        lines++;
        Optional<Chain.Split> split = line.oversized() ? Optional.empty() : Chain.split(line.text());
        Optional<JsonNode> json = split.flatMap(s -> parse(s.canonical()));
        if (split.isEmpty() || json.isEmpty() || !json.get().path("seq").canConvertToLong()) {
            if (lastLine != null && !line.terminated() && live && isLastFile(line)) {
                notes.add(new Verification.Finding(line.file(), line.number(), "line being written by the running"
                        + " relay; not checked"));
                lines--;
                return false;
            }
            damaged = line;
            lines--;
            return true;
        }
        JsonNode j = json.get();
        long seq = j.path("seq").asLong();
        String claimed = split.get().chain();
        String canonical = split.get().canonical();
        rememberHowChained(j);
        if (lastLine == null) {
            firstSeq = seq;
            if (seq == 1) {
                if (!chain.link(Chain.GENESIS, canonical).equals(claimed)) {
                    return fail(line, "content does not match its chain value: the line was edited" + keyHint());
                }
            } else {
                startAfterOne = new Pending(line, seq, canonical, claimed);
            }
        } else {
            long expected = lastSeq + 1;
            if (seq != expected) {
                return fail(line, describeSeqJump(line, seq, expected));
            }
            if (!chain.link(prevChain, canonical).equals(claimed)) {
                return fail(line, "content does not match its chain value: the line was edited"
                        + (j.path("event").asText().equals("audit.started") ? keyHint() : ""));
            }
        }
        String event = j.path("event").asText();
        if (event.equals("audit.started") && j.path("chain_alg").asText().equals("hmac-sha256")
                && chain.key().isEmpty()) {
            // A genuine HMAC line never matches plain SHA-256: this one was rewritten by someone without the key.
            return fail(line, "the line says the chain is HMAC-SHA256 (key id " + j.path("key_id").asText()
                    + "), yet it matches plain SHA-256: the chain was recomputed without the key");
        }
        if (event.equals("audit.pruned") && startAfterOne != null
                && j.path("first_kept_seq").asLong() == startAfterOne.seq()) {
            String prev = j.path("first_kept_prev_chain").asText();
            if (!prev.matches("[0-9a-f]{64}") || !chain.link(prev, startAfterOne.canonical())
                    .equals(startAfterOne.chain())) {
                return fail(startAfterOne.line(), "content does not match its chain value: the line was edited");
            }
            notes.add(new Verification.Finding(startAfterOne.line().file(), startAfterOne.line().number(),
                    "the chain starts at seq " + startAfterOne.seq() + ": older files were deleted by the relay's"
                            + " retention (audit.pruned at " + where(line) + ")"));
            startAfterOne = null;
        }
        if (event.equals("audit.started") && j.path("previous").asText().equals("no-stop-record")) {
            notes.add(new Verification.Finding(line.file(), line.number(), "the relay started again without a stop"
                    + " record before this line: it had crashed or been killed, or lines were removed from the end"
                    + " of the log while it was stopped"));
        }
        prevChain = claimed;
        lastSeq = seq;
        lastEvent = event;
        lastLine = line;
        return true;
    }

    private void finish() {
        if (problem != null) {
            return;
        }
        if (damaged != null) {
            fail(damaged, describeUnreadable(damaged));
            return;
        }
        if (lastLine == null) {
            fail(new AuditLines.Line(files.get(0), 1, "", true, false), "no audit lines in the files given");
            return;
        }
        if (startAfterOne != null) {
            fail(startAfterOne.line(), "the chain starts at seq " + startAfterOne.seq() + ", but lines 1-"
                    + (startAfterOne.seq() - 1) + " are not in the files given and no audit.pruned record of the"
                    + " relay's retention accounts for them: a rotated file was removed, or pass the older files too");
            return;
        }
        Path last = files.get(files.size() - 1);
        if (AuditFiles.isRotated(last)) {
            notes.add(new Verification.Finding(last, lastLine.number(), "the files given end with a rotated file;"
                    + " lines after seq " + lastSeq + " were not checked"));
        } else if (!lastEvent.equals("audit.stopped") && !live) {
            fail(new AuditLines.Line(lastLine.file(), lastLine.number() + 1, "", true, false),
                    "the log ends after line " + lastLine.number() + " without the relay's stop record, and no relay"
                            + " is writing it: lines were removed from the end, or the relay crashed and was not"
                            + " started again");
        }
    }

    private boolean isDamageRecord(AuditLines.Line line) {
        return Chain.split(line.text()).flatMap(s -> parse(s.canonical()))
                .map(j -> j.path("event").asText().equals("audit.started") && j.path("damaged_tail").asBoolean())
                .orElse(false);
    }

    private boolean isLastFile(AuditLines.Line line) {
        return line.file().equals(files.get(files.size() - 1));
    }

    private String describeSeqJump(AuditLines.Line line, long seq, long expected) {
        boolean firstOfFile = line.number() == 1 && !line.file().equals(lastLine.file());
        if (seq > expected) {
            long missing = seq - expected;
            return "seq " + seq + " where " + expected + " was expected: " + missing + " line(s) missing before"
                    + " this one" + (firstOfFile ? " (a whole rotated file removed?)" : " (removed or reordered)");
        }
        return "seq " + seq + " where " + expected + " was expected: lines reordered or repeated";
    }

    private String describeUnreadable(AuditLines.Line line) {
        if (line.oversized()) {
            return "line longer than " + AuditFiles.MAX_LINE + " bytes: not an audit line";
        }
        if (!line.terminated()) {
            return "incomplete line (no line end) that the relay did not record as a crash leftover";
        }
        if (Chain.split(line.text()).isEmpty()) {
            return "not an audit line: it does not end with a \"chain\" member (edited or corrupted)";
        }
        return "not an audit line: not a JSON object with a seq (edited or corrupted)";
    }

    private void rememberHowChained(JsonNode j) {
        if (j.path("event").asText().equals("audit.started")) {
            writtenAlg = Optional.of(j.path("chain_alg").asText());
            writtenKeyId = j.has("key_id") ? Optional.of(j.path("key_id").asText()) : Optional.empty();
        }
    }

    /** Why a whole log may fail at its start: verified with the wrong key, or without the key. */
    private String keyHint() {
        if (writtenAlg.isEmpty()) {
            return "";
        }
        String alg = writtenAlg.get();
        if (alg.equals("hmac-sha256") && chain.key().isEmpty()) {
            return " (this log says it is chained with HMAC, key id " + writtenKeyId.orElse("?")
                    + ": pass the key with --hmac-key-file)";
        }
        if (alg.equals("sha256") && chain.key().isPresent()) {
            return " (this log says it is chained with plain SHA-256: verify it without --hmac-key-file)";
        }
        if (chain.key().isPresent() && writtenKeyId.isPresent() && !writtenKeyId.get().equals(chain.key().get().id())) {
            return " (this log says it was written with key id " + writtenKeyId.get() + ", the key given has id "
                    + chain.key().get().id() + ")";
        }
        return "";
    }

    private boolean fail(AuditLines.Line line, String what) {
        if (problem == null) {
            problem = new Verification.Finding(line.file(), line.number(), what);
        }
        return false;
    }

    private static String where(AuditLines.Line line) {
        return line.file().getFileName() + ":" + line.number();
    }

    private static Optional<JsonNode> parse(String json) {
        try {
            JsonNode n = JSON.readTree(json);
            return n != null && n.isObject() ? Optional.of(n) : Optional.empty();
        } catch (JsonProcessingException e) {
            return Optional.empty();
        }
    }
}
