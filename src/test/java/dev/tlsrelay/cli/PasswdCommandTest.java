package dev.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.auth.PasswordHash;
import dev.tlsrelay.auth.UsersFile;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code tlsrelay passwd} run as a script would: a real process, the password on standard input. */
@Timeout(60)
class PasswdCommandTest {

    @TempDir
    Path dir;

    private record Run(int exit, String output) {}

    private Run passwd(String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.tlsrelay.cli.Main", "passwd"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("tlsrelay passwd did not exit");
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void addsThenReplacesAUserFromStandardInput() throws Exception {
        Path users = dir.resolve("conf/users");
        Run added = passwd("first secret\n", "scanner", "--users-file", users.toString());
        assertEquals(0, added.exit(), added.output());
        assertTrue(added.output().contains("user scanner added to " + users), added.output());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(users)));
        PasswordHash hash = UsersFile.read(users).hashOf("scanner").orElseThrow();
        assertEquals(PasswordHash.DEFAULT_ITERATIONS, hash.iterations());
        assertTrue(hash.matches("first secret".toCharArray()));

        Run replaced = passwd("grüße 2\r\n", "scanner", "--users-file", users.toString());
        assertEquals(0, replaced.exit(), replaced.output());
        assertTrue(replaced.output().contains("password of scanner replaced"), replaced.output());
        UsersFile after = UsersFile.read(users);
        assertTrue(after.verify("scanner", "grüße 2".toCharArray()), "UTF-8, line end stripped");
        assertFalse(after.verify("scanner", "first secret".toCharArray()));
        assertFalse(Files.readString(users).contains("secret"), "the password itself is never written");
    }

    @Test
    void refusesEmptyPasswordsAndBadNamesAndChangesNothing() throws Exception {
        Path users = dir.resolve("users");
        Run empty = passwd("\n", "scanner", "--users-file", users.toString());
        assertEquals(1, empty.exit(), empty.output());
        assertTrue(empty.output().contains("the password is empty; nothing changed"), empty.output());
        Run badName = passwd("pw\n", "bad:name", "--users-file", users.toString());
        assertEquals(2, badName.exit(), badName.output());
        assertTrue(badName.output().contains("bad user name"), badName.output());
        assertFalse(Files.exists(users));
    }
}
