package dev.tlsrelay.oauth;

import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Where {@code tlsrelay oauth2 login} signs in, per provider: endpoints, the scope that allows SMTP,
 * and how a person signs in. Facts from the providers' public documentation as of 2026-11; each
 * endpoint can be overridden on the command line.
 */
public enum Provider {
    /**
     * Microsoft Entra ID (Microsoft 365): the device authorization grant, delegated
     * {@code SMTP.Send} and {@code offline_access} (for the refresh token). Public client: no secret.
     */
    MICROSOFT(Flow.DEVICE, "https://outlook.office.com/SMTP.Send offline_access", false, Map.of()),
    /**
     * Google: the authorization code grant with a loopback redirect and PKCE (Google's device flow
     * does not allow the {@code https://mail.google.com/} scope SMTP needs). Google's token endpoint
     * wants the client secret of the "Desktop app" OAuth client too; {@code access_type=offline}
     * and {@code prompt=consent} make it issue a refresh token every time.
     */
    GOOGLE(Flow.BROWSER, "https://mail.google.com/", true, Map.of("access_type", "offline", "prompt", "consent"));

    /** How a person signs in. */
    public enum Flow {
        /** RFC 8628: a code entered at a URL, on any device with a browser. */
        DEVICE,
        /** RFC 6749 authorization code + RFC 7636 PKCE, redirected to a listener on 127.0.0.1 (RFC 8252). */
        BROWSER
    }

    private final Flow flow;
    private final String scope;
    private final boolean needsClientSecret;
    private final Map<String, String> authorizationParameters;

    Provider(Flow flow, String scope, boolean needsClientSecret, Map<String, String> authorizationParameters) {
        this.flow = flow;
        this.scope = scope;
        this.needsClientSecret = needsClientSecret;
        this.authorizationParameters = authorizationParameters;
    }

    public Flow flow() {
        return flow;
    }

    /** The scope that lets the token send mail over SMTP. */
    public String scope() {
        return scope;
    }

    public boolean needsClientSecret() {
        return needsClientSecret;
    }

    /** Extra parameters of the authorization request (browser flow). */
    public Map<String, String> authorizationParameters() {
        return authorizationParameters;
    }

    /** The token endpoint; {@code tenant} is Microsoft's (a tenant id, a domain, or {@code organizations}). */
    public URI tokenUrl(String tenant) {
        return switch (this) {
            case MICROSOFT -> microsoft(tenant, "token");
            case GOOGLE -> URI.create("https://oauth2.googleapis.com/token");
        };
    }

    /** The device authorization endpoint. */
    public URI deviceUrl(String tenant) {
        return switch (this) {
            case MICROSOFT -> microsoft(tenant, "devicecode");
            case GOOGLE -> URI.create("https://oauth2.googleapis.com/device/code");
        };
    }

    /** The authorization endpoint (browser flow). */
    public URI authorizationUrl(String tenant) {
        return switch (this) {
            case MICROSOFT -> microsoft(tenant, "authorize");
            case GOOGLE -> URI.create("https://accounts.google.com/o/oauth2/v2/auth");
        };
    }

    /** The smarthost this provider's tokens are for. */
    public String smtpHost() {
        return switch (this) {
            case MICROSOFT -> "smtp.office365.com";
            case GOOGLE -> "smtp.gmail.com";
        };
    }

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Provider> fromConfigName(String name) {
        for (Provider p : values()) {
            if (p.configName().equalsIgnoreCase(name.strip())) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    private static URI microsoft(String tenant, String endpoint) {
        if (!tenant.matches("[A-Za-z0-9.-]{1,100}")) {
            throw new IllegalArgumentException("a tenant is an id, a domain, organizations or common: " + tenant);
        }
        return URI.create("https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/" + endpoint);
    }
}
