package dev.tlsrelay.route;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recipients sent per route and UTC day. With a directory, each route's count is a one-line file
 * ({@code DATE COUNT}) replaced atomically on every change, so a restart does not hand a provider a
 * fresh daily quota it has not given; without one (pass-through), counts live in memory.
 */
public final class DailyCounts {

    private static final Logger log = LoggerFactory.getLogger(DailyCounts.class);

    private final Optional<Path> dir;
    private final Map<String, Count> counts = new HashMap<>();

    private record Count(LocalDate day, long recipients) {}

    private DailyCounts(Optional<Path> dir) {
        this.dir = dir;
    }

    /** Counts kept in {@code dir} (created if missing), surviving restarts. */
    public static DailyCounts persistent(Path dir) throws IOException {
        Files.createDirectories(dir);
        return new DailyCounts(Optional.of(dir));
    }

    /** Counts kept in memory only. */
    public static DailyCounts inMemory() {
        return new DailyCounts(Optional.empty());
    }

    synchronized long get(String route, LocalDate day) {
        Count c = counts.computeIfAbsent(route, this::load);
        return c.day().equals(day) ? c.recipients() : 0;
    }

    synchronized void add(String route, LocalDate day, long recipients) {
        long next = get(route, day) + recipients;
        Count c = new Count(day, next);
        counts.put(route, c);
        store(route, c);
    }

    private Count load(String route) {
        Count none = new Count(LocalDate.MIN, 0);
        if (dir.isEmpty()) {
            return none;
        }
        Path f = file(route);
        try {
            if (!Files.exists(f)) {
                return none;
            }
            String[] parts = Files.readString(f, StandardCharsets.US_ASCII).trim().split(" ");
            return new Count(LocalDate.parse(parts[0]), Long.parseLong(parts[1]));
        } catch (IOException | RuntimeException e) {
            // Unreadable: count from zero and say so; the provider's own quota still applies.
            log.warn("cannot read the daily recipient count of route {} from {} ({}); counting from 0", route, f,
                    e.getMessage());
            return none;
        }
    }

    private void store(String route, Count c) {
        if (dir.isEmpty()) {
            return;
        }
        Path f = file(route);
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, c.day() + " " + c.recipients() + "\n", StandardCharsets.US_ASCII);
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            log.warn("cannot store the daily recipient count of route {} in {}: {}", route, f, e.getMessage());
        }
    }

    private Path file(String route) {
        return dir.orElseThrow().resolve(route + ".day");
    }
}
