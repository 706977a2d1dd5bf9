package dev.tlsrelay.auth;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The users devices may authenticate as: a text file of {@code user:hash} lines (see
 * {@link PasswordHash}), written by {@code tlsrelay passwd USER}. Blank lines and lines starting
 * with {@code #} are ignored. Immutable once read; {@link UserDirectory} re-reads it when it
 * changes.
 *
 * <pre>
 * # tlsrelay users
 * scanner-2nd-floor:pbkdf2-sha256$600000$3q0v…$Kx8…
 * </pre>
 */
public final class UsersFile {

    /** Names: what devices put in a user field, and nothing that breaks the file or a log line. */
    private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9._@+-]{1,128}");

    /** A users file is small; anything bigger is a mistake (wrong path) and is not read. */
    private static final long MAX_BYTES = 1024 * 1024;

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final Path file;
    private final Map<String, PasswordHash> users;
    private volatile PasswordHash decoy;

    private UsersFile(Path file, Map<String, PasswordHash> users) {
        this.file = file;
        this.users = Map.copyOf(users);
    }

    /**
     * Reads and checks a users file.
     *
     * @throws UsersFileException listing every bad line (by number, never echoing a hash)
     * @throws IOException        if the file cannot be read
     */
    public static UsersFile read(Path file) throws IOException {
        List<String> problems = new ArrayList<>();
        Map<String, PasswordHash> users = parse(file, readLines(file), problems);
        if (!problems.isEmpty()) {
            throw new UsersFileException(file, problems);
        }
        return new UsersFile(file, users);
    }

    public Path file() {
        return file;
    }

    /** User names, sorted. */
    public List<String> userNames() {
        return users.keySet().stream().sorted().toList();
    }

    public Optional<PasswordHash> hashOf(String user) {
        return Optional.ofNullable(users.get(user));
    }

    /**
     * Whether {@code user} exists and {@code password} is theirs. An unknown user costs as much
     * as a known one (a decoy hash is checked), so timing does not tell which names exist.
     */
    public boolean verify(String user, char[] password) {
        PasswordHash hash = users.get(user);
        if (hash == null) {
            decoy().matches(password);
            return false;
        }
        return hash.matches(password);
    }

    /** Users whose hash is cheaper than {@link PasswordHash#DEFAULT_ITERATIONS} today. */
    public List<String> weakHashes() {
        return users.entrySet().stream().filter(e -> e.getValue().iterations() < PasswordHash.DEFAULT_ITERATIONS)
                .map(Map.Entry::getKey).sorted().toList();
    }

    /** What is wrong with a user name, if anything. */
    public static Optional<String> userNameProblem(String name) {
        if (USER_NAME.matcher(name).matches()) {
            return Optional.empty();
        }
        return Optional.of("a user name is 1-128 characters of letters, digits and . _ @ + -");
    }

    /**
     * Sets (adds or replaces) one user's password hash, keeping every other line as it was. The
     * new file is written beside the old one with mode 0600, flushed to disk, then renamed over
     * it, so a reader (the running relay) sees either the old or the new file, never half of one.
     *
     * @return true if the user already existed (their password was replaced)
     * @throws UsersFileException if the existing file has bad lines (fix them first)
     */
    public static boolean setPassword(Path file, String user, PasswordHash hash) throws IOException {
        Optional<String> bad = userNameProblem(user);
        if (bad.isPresent()) {
            throw new IllegalArgumentException(bad.get());
        }
        List<String> lines = Files.exists(file) ? readLines(file) : new ArrayList<>(List.of(
                "# tlsrelay users: one user:hash line each, written by \"tlsrelay passwd USER\".",
                "# Keep this file readable only by the relay (mode 0600)."));
        List<String> problems = new ArrayList<>();
        parse(file, lines, problems);
        if (!problems.isEmpty()) {
            throw new UsersFileException(file, problems);
        }
        String entry = user + ":" + hash.encoded();
        boolean replaced = false;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).trim().startsWith(user + ":")) {
                lines.set(i, entry);
                replaced = true;
            }
        }
        if (!replaced) {
            lines.add(entry);
        }
        writeAtomically(file, String.join("\n", lines) + "\n");
        return replaced;
    }

    private static Map<String, PasswordHash> parse(Path file, List<String> lines, List<String> problems) {
        Map<String, PasswordHash> users = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = file + " line " + (i + 1) + ": ";
            int colon = line.indexOf(':');
            if (colon < 0) {
                problems.add(where + "expected user:hash");
                continue;
            }
            String user = line.substring(0, colon);
            Optional<String> badName = userNameProblem(user);
            if (badName.isPresent()) {
                problems.add(where + badName.get());
                continue;
            }
            try {
                PasswordHash hash = PasswordHash.parse(line.substring(colon + 1));
                if (users.putIfAbsent(user, hash) != null) {
                    problems.add(where + "user " + user + " is listed twice");
                }
            } catch (IllegalArgumentException e) {
                problems.add(where + "bad hash for user " + user + " (" + e.getMessage()
                        + "); set it again with tlsrelay passwd " + user);
            }
        }
        return users;
    }

    private static List<String> readLines(Path file) throws IOException {
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException(file + " is larger than " + MAX_BYTES + " bytes: not a users file");
        }
        return new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    private static void writeAtomically(Path file, String content) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp;
        try {
            FileAttribute<Set<PosixFilePermission>> ownerOnly = PosixFilePermissions.asFileAttribute(OWNER_ONLY);
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp", ownerOnly);
        } catch (UnsupportedOperationException notPosix) {
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        }
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(StandardCharsets.UTF_8.encode(content));
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Same cost as this file's real hashes: the first user's iteration count, or the default. */
    private PasswordHash decoy() {
        PasswordHash d = decoy;
        if (d == null) {
            int iterations = users.values().stream().findFirst().map(PasswordHash::iterations)
                    .orElse(PasswordHash.DEFAULT_ITERATIONS);
            char[] random = java.util.UUID.randomUUID().toString().toCharArray();
            d = PasswordHash.create(random, iterations);
            decoy = d;
        }
        return d;
    }

    /** A users file with bad lines; {@link #problems()} names each. */
    public static final class UsersFileException extends IOException {
        private final List<String> problems;

        UsersFileException(Path file, List<String> problems) {
            super(String.join("; ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }
}
