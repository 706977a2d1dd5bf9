package dev.tlsrelay.cli;

import dev.tlsrelay.auth.PasswordHash;
import dev.tlsrelay.auth.UsersFile;
import java.io.ByteArrayOutputStream;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code tlsrelay passwd USER}: adds a device user to the users file, or replaces their password. */
@Command(name = "passwd", mixinStandardHelpOptions = true,
        description = {"Set the AUTH password of a device user in the users file (listen.auth.users-file):"
                + " adds the user, or replaces their password. A running relay picks the change up at the next AUTH.",
                "The password is read twice from the terminal, without echo; when standard input is not a terminal,"
                + " one line is read from it (for scripts: printf '%%s\\n' \"$PW\" | tlsrelay passwd scanner)."})
final class PasswdCommand implements Callable<Integer> {

    /** Longer than any device's password field; a bound on what is read from stdin. */
    private static final int MAX_PASSWORD = 1024;

    @Parameters(index = "0", paramLabel = "USER", description = "user name the device logs in with")
    String user;

    @Option(names = "--users-file", paramLabel = "FILE", defaultValue = "conf/users",
            description = "users file to change, created with mode 0600 if missing (default: ${DEFAULT-VALUE})")
    Path usersFile;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<String> badName = UsersFile.userNameProblem(user);
        if (badName.isPresent()) {
            err.println("tlsrelay passwd: bad user name '" + user + "': " + badName.get());
            return Main.EXIT_CONFIG;
        }
        char[] password = null;
        try {
            password = readPassword(err);
            if (password == null) {
                return 1;
            }
            boolean replaced = UsersFile.setPassword(usersFile, user, PasswordHash.create(password));
            out.println((replaced ? "password of " + user + " replaced in " : "user " + user + " added to ")
                    + usersFile);
            return 0;
        } catch (UsersFile.UsersFileException e) {
            err.println("tlsrelay passwd: " + usersFile + " was left unchanged; fix these lines first:");
            e.problems().forEach(p -> err.println("  - " + p));
            return 1;
        } catch (IOException e) {
            err.println("tlsrelay passwd: cannot write " + usersFile + ": " + e.getMessage());
            return 1;
        } catch (IllegalArgumentException e) {
            err.println("tlsrelay passwd: " + e.getMessage() + "; nothing changed");
            return 1;
        } finally {
            if (password != null) {
                Arrays.fill(password, '\0');
            }
        }
    }

    /** The new password, or null after telling the user why there is none. */
    private char[] readPassword(PrintWriter err) throws IOException {
        Console console = terminal();
        char[] password;
        if (console != null) {
            password = console.readPassword("New password for %s: ", user);
            char[] again = console.readPassword("Again: ");
            try {
                if (password == null || again == null || !Arrays.equals(password, again)) {
                    err.println("tlsrelay passwd: the two passwords differ (or input ended); nothing changed");
                    clear(password);
                    return null;
                }
            } finally {
                clear(again);
            }
        } else {
            password = firstLine(System.in);
        }
        String problem = password == null || password.length == 0 ? "the password is empty"
                : password.length > MAX_PASSWORD ? "the password is longer than " + MAX_PASSWORD + " characters"
                : contains(password, '\0') ? "the password contains a NUL character, which AUTH PLAIN cannot carry"
                : null;
        if (problem != null) {
            err.println("tlsrelay passwd: " + problem + "; nothing changed");
            clear(password);
            return null;
        }
        return password;
    }

    /**
     * The console, if standard input is a terminal. From JDK 22 a console may exist with redirected
     * streams, so ask it where available (this is compiled for JDK 21, which lacks the method).
     */
    private static Console terminal() {
        Console c = System.console();
        if (c == null) {
            return null;
        }
        try {
            Method isTerminal = Console.class.getMethod("isTerminal");
            return Boolean.TRUE.equals(isTerminal.invoke(c)) ? c : null;
        } catch (NoSuchMethodException e) {
            return c; // JDK 21: a console exists only for a terminal
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    /** One line of UTF-8 from {@code in} (without its line end), read byte by byte up to a bound. */
    private static char[] firstLine(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            if (buf.size() > MAX_PASSWORD * 4) {
                break;
            }
            buf.write(b);
        }
        byte[] bytes = buf.toByteArray();
        int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 0, len));
            char[] out = new char[chars.remaining()];
            chars.get(out);
            Arrays.fill(chars.array(), '\0');
            return out;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the password on standard input is not UTF-8");
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    private static boolean contains(char[] chars, char c) {
        for (char x : chars) {
            if (x == c) {
                return true;
            }
        }
        return false;
    }

    private static void clear(char[] chars) {
        if (chars != null) {
            Arrays.fill(chars, '\0');
        }
    }
}
