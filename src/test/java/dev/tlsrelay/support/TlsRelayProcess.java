package dev.tlsrelay.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** {@code tlsrelay} run as a real separate process, as a user would run it. */
public final class TlsRelayProcess implements AutoCloseable {

    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final Thread reader;

    private TlsRelayProcess(Process process) {
        this.process = process;
        this.reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    output.add(line);
                }
            } catch (IOException ignored) {
                // The process ended.
            }
        });
    }

    /** Starts {@code tlsrelay ARGS...} with this JVM's class path; stdout and stderr merged. */
    public static TlsRelayProcess start(Path workDir, String... args) throws IOException {
        return start(workDir, java.util.Map.of(), List.of(), args);
    }

    /** Like {@link #start(Path, String...)}, with {@code environment} as its only {@code TLSRELAY_*} variables. */
    public static TlsRelayProcess start(Path workDir, java.util.Map<String, String> environment, String... args)
            throws IOException {
        return start(workDir, environment, List.of(), args);
    }

    /** The same, with options for the JVM (such as {@code @conf/jvm.options}, as the service runs it). */
    public static TlsRelayProcess start(Path workDir, List<String> jvmOptions, String... args) throws IOException {
        return start(workDir, java.util.Map.of(), jvmOptions, args);
    }

    private static TlsRelayProcess start(Path workDir, java.util.Map<String, String> environment,
            List<String> jvmOptions, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.tlsrelay.cli.Main");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("TLSRELAY_"));
        pb.environment().putAll(environment);
        return new TlsRelayProcess(pb.start());
    }

    /** Waits for the exit code; fails the test when the process outlives the timeout. */
    public int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("tlsrelay did not exit within " + timeout + "; output:\n" + output());
        }
        reader.join(Duration.ofSeconds(10)); // the reader ends at end of output: every line is collected
        return process.exitValue();
    }

    /** Waits until a line of output matches; returns it. */
    public String awaitLine(Predicate<String> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (String l : output) {
                if (match.test(l)) {
                    return l;
                }
            }
            if (!process.isAlive()) {
                break;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no matching output line within " + timeout + "; output:\n" + output());
    }

    /** SIGKILL: the process dies at once, mid-whatever, as in a power cut or an OOM kill. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(20, TimeUnit.SECONDS);
    }

    public long pid() {
        return process.pid();
    }

    public String output() {
        return String.join("\n", output);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy(); // SIGTERM, like Ctrl-C
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
