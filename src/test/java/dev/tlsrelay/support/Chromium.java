package dev.tlsrelay.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Headless Chromium, as a real browser for checking pages. Console messages (errors, uncaught
 * exceptions) are read from Chromium's own log on stderr, where each appears as a {@code :CONSOLE}
 * line. Missing Chromium fails the test that needs it: it is never skipped.
 */
public final class Chromium {

    private static final List<String> NAMES = List.of("chromium", "chromium-browser", "google-chrome");

    private Chromium() {}

    /** What a run produced. */
    public record Run(int exitCode, String stdout, List<String> consoleMessages, String stderr) {}

    /** Loads {@code page} and saves a screenshot of the given window size. */
    public static Run screenshot(Path page, Path png, int width, int height) throws IOException, InterruptedException {
        return run(page, "--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height);
    }

    /** Loads {@code page} and returns the DOM as rendered (after parsing, styles applied). */
    public static Run dumpDom(Path page) throws IOException, InterruptedException {
        return run(page, "--dump-dom");
    }

    private static Run run(Path page, String... action) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory("tlsrelay-chromium-");
        Path out = profile.resolve("stdout.txt");
        Path err = profile.resolve("stderr.txt");
        List<String> cmd = new ArrayList<>(List.of(executable(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + profile.resolve("profile"), "--enable-logging=stderr",
                "--v=0"));
        cmd.addAll(List.of(action));
        cmd.add(page.toAbsolutePath().toUri().toString());
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError("headless Chromium did not finish within 90 s: " + String.join(" ", cmd));
            }
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            List<String> console = stderr.lines().filter(l -> l.contains(":CONSOLE")).toList();
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), console, stderr);
        } finally {
            try (Stream<Path> walk = Files.walk(profile)) {
                walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** The browser on the PATH; fails with the fix when there is none. */
    static String executable() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            for (String name : NAMES) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p.toString();
                }
            }
        }
        throw new AssertionError("headless Chromium is needed to check the HTML audit report, and none of " + NAMES
                + " is on the PATH: install it (Debian/Ubuntu: apt-get install -y chromium); .ci/run does this");
    }
}
