package dev.tlsrelay.oauth;

import java.util.Optional;

/**
 * No access token could be had. The message says what happened in plain words (never a token or a
 * secret); {@link #fix()} says what the relay administrator should do about it.
 */
public final class TokenException extends Exception {

    /** Why, by what must happen next. */
    public enum Reason {
        /**
         * {@code invalid_grant}: the provider refused the refresh token (revoked, expired, password
         * changed) or the code of a login. A person must sign in again.
         */
        GRANT_REFUSED,
        /** {@code invalid_client}, {@code unauthorized_client}: wrong client id or secret, or an expired secret. */
        CLIENT_REFUSED,
        /** Any other refusal ({@code invalid_scope}, {@code invalid_request}, an HTTP 4xx): the configuration. */
        REQUEST_REFUSED,
        /** The endpoint could not be reached, failed TLS verification, timed out or failed (5xx, 429). */
        UNAVAILABLE,
        /** The smarthost keeps refusing freshly issued tokens: a permission is missing on its side. */
        UPSTREAM_REFUSED,
        /** Something on this machine: the refresh token file is missing or unreadable. */
        LOCAL
    }

    private final Reason reason;
    private final Optional<String> error;
    private final String fix;

    /**
     * @param error the OAuth error code ({@code invalid_grant}, ...), when the provider gave one
     * @param fix   what to do, in plain words
     */
    public TokenException(Reason reason, Optional<String> error, String message, String fix, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.error = error;
        this.fix = fix;
    }

    public Reason reason() {
        return reason;
    }

    /** The OAuth 2.0 error code the provider answered with, if any. */
    public Optional<String> error() {
        return error;
    }

    /** What the relay administrator should do. */
    public String fix() {
        return fix;
    }
}
