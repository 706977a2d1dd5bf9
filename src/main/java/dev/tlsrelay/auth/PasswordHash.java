package dev.tlsrelay.auth;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * A salted, deliberately slow password hash: PBKDF2-HMAC-SHA256 from the JDK, a random 16-byte
 * salt per user, {@value #DEFAULT_ITERATIONS} iterations by default (OWASP's recommendation for
 * this function as of 2026-11). It is stored self-describing, so the cost can be raised later
 * without breaking existing lines:
 *
 * <pre>pbkdf2-sha256$600000$BASE64SALT$BASE64HASH</pre>
 *
 * Comparison is constant-time. The password itself is never stored or logged.
 */
public final class PasswordHash {

    /** Iterations for new hashes. */
    public static final int DEFAULT_ITERATIONS = 600_000;

    /** Bounds on what a stored line may ask for: a typo must not make every login take minutes. */
    static final int MIN_ITERATIONS = 1_000;
    static final int MAX_ITERATIONS = 10_000_000;

    private static final String SCHEME = "pbkdf2-sha256";
    private static final int SALT_BYTES = 16;
    private static final int HASH_BYTES = 32;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final int iterations;
    private final byte[] salt;
    private final byte[] hash;

    private PasswordHash(int iterations, byte[] salt, byte[] hash) {
        this.iterations = iterations;
        this.salt = salt;
        this.hash = hash;
    }

    /** Hashes a new password with a fresh salt and the default cost. */
    public static PasswordHash create(char[] password) {
        return create(password, DEFAULT_ITERATIONS);
    }

    /** Hashes a new password with a fresh salt and the given cost (tests use a low one). */
    public static PasswordHash create(char[] password, int iterations) {
        checkIterations(iterations);
        if (password.length == 0) {
            throw new IllegalArgumentException("the password is empty");
        }
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        return new PasswordHash(iterations, salt, derive(password, salt, iterations));
    }

    /**
     * Parses the stored form.
     *
     * @throws IllegalArgumentException saying what is wrong (never echoing the hash)
     */
    public static PasswordHash parse(String encoded) {
        String[] parts = encoded.split("\\$", -1);
        if (parts.length != 4 || !parts[0].equals(SCHEME)) {
            throw new IllegalArgumentException("expected " + SCHEME + "$ITERATIONS$SALT$HASH");
        }
        int iterations;
        try {
            iterations = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the iteration count is not a number");
        }
        checkIterations(iterations);
        byte[] salt;
        byte[] hash;
        try {
            salt = Base64.getDecoder().decode(parts[2]);
            hash = Base64.getDecoder().decode(parts[3]);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("salt or hash is not base64");
        }
        if (salt.length < 8 || hash.length != HASH_BYTES) {
            throw new IllegalArgumentException("salt or hash has the wrong length");
        }
        return new PasswordHash(iterations, salt, hash);
    }

    /** Whether {@code password} is the one hashed here; takes the full cost whatever the answer. */
    public boolean matches(char[] password) {
        if (password.length == 0) {
            // Still pay the cost, so an empty password is not distinguishable by timing.
            derive(new char[] {'\0'}, salt, iterations);
            return false;
        }
        byte[] candidate = derive(password, salt, iterations);
        try {
            return MessageDigest.isEqual(candidate, hash);
        } finally {
            Arrays.fill(candidate, (byte) 0);
        }
    }

    public int iterations() {
        return iterations;
    }

    /** The stored form. */
    public String encoded() {
        Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
        return SCHEME + "$" + iterations + "$" + b64.encodeToString(salt) + "$" + b64.encodeToString(hash);
    }

    /** Never the hash: it is as good as a password for an offline attack. */
    @Override
    public String toString() {
        return SCHEME + "[" + iterations + " iterations]";
    }

    private static void checkIterations(int iterations) {
        if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
            throw new IllegalArgumentException("iteration count " + iterations + " outside " + MIN_ITERATIONS + "-"
                    + MAX_ITERATIONS);
        }
    }

    private static byte[] derive(char[] password, byte[] salt, int iterations) {
        PBEKeySpec spec = new PBEKeySpec(password, salt, iterations, HASH_BYTES * 8);
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 is missing from this JDK", e);
        } finally {
            spec.clearPassword();
        }
    }
}
