package dev.tlsrelay.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The users file and its password hashes: format, verification, atomic owner-only updates. */
@Timeout(30)
class UsersFileTest {

    private static final int CHEAP = 1_000;

    @TempDir
    Path dir;

    @Test
    void hashIsSaltedSelfDescribingAndVerifiesOnlyTheRightPassword() {
        PasswordHash a = PasswordHash.create("s3cret".toCharArray(), CHEAP);
        PasswordHash b = PasswordHash.create("s3cret".toCharArray(), CHEAP);
        assertTrue(a.encoded().matches("pbkdf2-sha256\\$1000\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}"), a.encoded());
        assertNotEquals(a.encoded(), b.encoded(), "a fresh salt per hash");
        PasswordHash parsed = PasswordHash.parse(a.encoded());
        assertTrue(parsed.matches("s3cret".toCharArray()));
        assertFalse(parsed.matches("s3cret ".toCharArray()));
        assertFalse(parsed.matches(new char[0]));
        assertFalse(a.toString().contains(a.encoded().split("\\$")[3]), "toString never shows the hash");
        assertEquals(PasswordHash.DEFAULT_ITERATIONS, 600_000);
    }

    @Test
    void badHashesAreRefusedWithoutEchoingThem() {
        for (String bad : List.of("", "md5$x", "pbkdf2-sha256$abc$AAAA$AAAA", "pbkdf2-sha256$1$AAAAAAAAAAA$AAAA",
                "pbkdf2-sha256$999999999$AAAAAAAAAAAA$" + "A".repeat(43), "pbkdf2-sha256$1000$!!$AAAA")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PasswordHash.parse(bad));
            assertFalse(!bad.isEmpty() && e.getMessage().contains(bad), e.getMessage());
        }
    }

    @Test
    void setPasswordAddsAndReplacesAtomicallyWithOwnerOnlyMode() throws Exception {
        Path file = dir.resolve("users");
        assertFalse(UsersFile.setPassword(file, "scanner", PasswordHash.create("one".toCharArray(), CHEAP)));
        assertFalse(UsersFile.setPassword(file, "copier@office.test", PasswordHash.create("two".toCharArray(), CHEAP)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        Files.writeString(file, Files.readString(file) + "# a note the admin wrote\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

        assertTrue(UsersFile.setPassword(file, "scanner", PasswordHash.create("three".toCharArray(), CHEAP)));

        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)),
                "the replacement file is owner-only again");
        String text = Files.readString(file);
        assertTrue(text.contains("# a note the admin wrote"), "other lines are kept: " + text);
        assertEquals(1, text.lines().filter(l -> l.startsWith("scanner:")).count(), text);
        UsersFile users = UsersFile.read(file);
        assertEquals(List.of("copier@office.test", "scanner"), users.userNames());
        assertTrue(users.verify("scanner", "three".toCharArray()));
        assertFalse(users.verify("scanner", "one".toCharArray()));
        assertTrue(users.verify("copier@office.test", "two".toCharArray()));
        assertFalse(users.verify("nobody", "two".toCharArray()));
        try (var leftovers = Files.list(dir)) {
            assertEquals(List.of(file), leftovers.toList(), "no temporary file is left behind");
        }
    }

    @Test
    void everyBadLineIsReportedByNumberAndTheFileIsNotChanged() throws Exception {
        Path file = dir.resolve("users");
        String good = "ok:" + PasswordHash.create("x".toCharArray(), CHEAP).encoded();
        Files.writeString(file, String.join("\n", "# comment", "", good, "no colon here", "bad name!:x",
                "ok:" + PasswordHash.create("y".toCharArray(), CHEAP).encoded(), "broken:pbkdf2-sha256$1000$AA$AA"));
        UsersFile.UsersFileException e = assertThrows(UsersFile.UsersFileException.class, () -> UsersFile.read(file));
        assertEquals(4, e.problems().size(), e.problems().toString());
        assertTrue(e.problems().get(0).contains("line 4: expected user:hash"), e.problems().get(0));
        assertTrue(e.problems().get(1).contains("line 5"), e.problems().get(1));
        assertTrue(e.problems().get(2).contains("line 6: user ok is listed twice"), e.problems().get(2));
        assertTrue(e.problems().get(3).contains("line 7: bad hash for user broken"), e.problems().get(3));
        String before = Files.readString(file);
        assertThrows(UsersFile.UsersFileException.class,
                () -> UsersFile.setPassword(file, "new", PasswordHash.create("z".toCharArray(), CHEAP)));
        assertEquals(before, Files.readString(file));
    }

    @Test
    void userNamesCannotBreakTheFileOrTheLog() {
        for (String bad : List.of("", "a:b", "a b", "a\nb", "ümlaut", "x".repeat(129))) {
            assertTrue(UsersFile.userNameProblem(bad).isPresent(), bad);
        }
        for (String good : List.of("scanner", "copier@office.test", "HP_LaserJet-4250.2nd+floor")) {
            assertTrue(UsersFile.userNameProblem(good).isEmpty(), good);
        }
    }

    @Test
    void theDirectoryReReadsAChangedFileAndKeepsTheOldUsersWhenItBreaks() throws Exception {
        Path file = dir.resolve("users");
        UsersFile.setPassword(file, "a", PasswordHash.create("pa".toCharArray(), CHEAP));
        UserDirectory users = new UserDirectory(file);
        assertTrue(users.verify("a", "pa".toCharArray()));
        assertFalse(users.verify("b", "pb".toCharArray()));

        UsersFile.setPassword(file, "b", PasswordHash.create("pb".toCharArray(), CHEAP));
        assertTrue(users.verify("b", "pb".toCharArray()), "a new user counts at once");

        Files.writeString(file, "garbage\n");
        assertTrue(users.verify("a", "pa".toCharArray()), "a broken file keeps the users read before");
        assertTrue(users.verify("b", "pb".toCharArray()));
    }
}
