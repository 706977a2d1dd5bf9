package dev.tlsrelay.audit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where the pieces of one audit log live. The active file is {@code audit.file}, e.g.
 * {@code tlsrelay-audit.jsonl}; a rotated file carries the sequence number of its first line,
 * zero-padded, before the extension: {@code tlsrelay-audit.000000000001.jsonl}. Names therefore sort
 * in chain order, with the active file last, so a shell glob lists them in order.
 */
public final class AuditFiles {

    /** Longest line read back; the relay writes lines of a few KiB. */
    static final int MAX_LINE = 1024 * 1024;
    private static final Pattern ROTATED = Pattern.compile("(.+)\\.(\\d{12,})(\\.[^.]+)?");

    private AuditFiles() {}

    /** {@code tlsrelay-audit.jsonl}: stem {@code tlsrelay-audit}, extension {@code .jsonl} (may be empty). */
    private record Name(String stem, String ext) {
        static Name of(Path active) {
            String name = active.getFileName().toString();
            int dot = name.lastIndexOf('.');
            return dot > 0 ? new Name(name.substring(0, dot), name.substring(dot)) : new Name(name, "");
        }
    }

    /** The rotated name for a piece whose first line has sequence number {@code firstSeq}. */
    static Path rotatedName(Path active, long firstSeq) {
        Name n = Name.of(active);
        return active.resolveSibling(String.format("%s.%012d%s", n.stem(), firstSeq, n.ext()));
    }

    /** True when the name is that of a rotated piece rather than an active file. */
    public static boolean isRotated(Path file) {
        return ROTATED.matcher(file.getFileName().toString()).matches();
    }

    /** The rotated pieces of {@code active}, oldest first. */
    static List<Path> rotated(Path active) throws IOException {
        Path dir = active.toAbsolutePath().getParent();
        Name n = Name.of(active);
        Pattern mine = Pattern.compile(Pattern.quote(n.stem()) + "\\.(\\d{12,})" + Pattern.quote(n.ext()));
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        record Piece(Path path, long seq) {}
        List<Piece> pieces = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                Matcher m = mine.matcher(p.getFileName().toString());
                if (m.matches()) {
                    pieces.add(new Piece(active.resolveSibling(p.getFileName()), Long.parseLong(m.group(1))));
                }
            }
        }
        return pieces.stream().sorted(Comparator.comparingLong(Piece::seq)).map(Piece::path).toList();
    }

    /** Every piece of the log whose active file is {@code active}, in chain order: rotated ones, then it. */
    public static List<Path> discover(Path active) throws IOException {
        List<Path> all = new ArrayList<>(rotated(active));
        if (Files.exists(active)) {
            all.add(active);
        }
        return all;
    }

    /** The file a running relay holds locked while it writes {@code active}. */
    static Path lockFile(Path active) {
        return active.resolveSibling(active.getFileName() + ".lock");
    }

    /**
     * True when a relay is writing {@code active} now (it holds the lock file). Asks for a shared
     * lock, so read access is enough.
     */
    public static boolean inUse(Path active) {
        if (AuditLog.openHere(active)) {
            return true;
        }
        Path lock = lockFile(active);
        if (!Files.exists(lock)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.READ)) {
            FileLock l = ch.tryLock(0, Long.MAX_VALUE, true);
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // held by a relay in this very process
        } catch (IOException e) {
            return false;
        }
    }

    /** The last line of a file as found on disk; {@code terminated} is false for a line cut short. */
    record Tail(String line, boolean terminated) {}

    /** The last line of {@code file}, or empty for a missing or empty file. Reads at most 1 MiB. */
    static Optional<Tail> lastLine(Path file) throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long len = raf.length();
            if (len == 0) {
                return Optional.empty();
            }
            int n = (int) Math.min(len, MAX_LINE + 1L);
            byte[] buf = new byte[n];
            raf.seek(len - n);
            raf.readFully(buf);
            boolean terminated = buf[n - 1] == '\n';
            int end = terminated ? n - 1 : n;
            int start = end;
            while (start > 0 && buf[start - 1] != '\n') {
                start--;
            }
            return Optional.of(new Tail(new String(buf, start, end - start, StandardCharsets.UTF_8), terminated));
        }
    }

    /** The first line of a file, or empty for a missing or empty file. */
    static Optional<String> firstLine(Path file) throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        List<String> first = new ArrayList<>(1);
        AuditLines.read(List.of(file), l -> {
            first.add(l.text());
            return false;
        });
        return first.stream().findFirst();
    }

    /** The chain value of the last complete audit line of {@code file}: where the next file's chain starts. */
    static Optional<String> lastChain(Path file) throws IOException {
        Optional<Tail> tail = lastLine(file);
        Optional<String> line = tail.isPresent() && tail.get().terminated() ? Optional.of(tail.get().line())
                : lastCompleteLine(file);
        return line.flatMap(Chain::split).map(Chain.Split::chain);
    }

    /** The last complete line before a final incomplete one (what a crash mid-write leaves). */
    static Optional<String> lastCompleteLine(Path file) throws IOException {
        String[] last = new String[1];
        AuditLines.read(List.of(file), l -> {
            if (l.terminated()) {
                last[0] = l.text();
            }
            return true;
        });
        return Optional.ofNullable(last[0]);
    }
}
