package dev.tlsrelay.config;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What a provider publishes about its submission service: host, port, TLS mode, sending limits
 * (key values under every explicit setting) and how it takes SMTP AUTH. Each value's public source and the date it was checked
 * are in the README ("Provider presets"); facts that age carry that date, checked 2026-11-23.
 */
public enum Preset {
    /** Exchange Online SMTP AUTH client submission. */
    MICROSOFT365("microsoft365", RelayConfig.AuthMechanism.LOGIN, true) {
        @Override
        Map<String, String> values(Optional<String> region) {
            return ordered("host", "smtp.office365.com", "port", "587", "security", "starttls",
                    // 30 messages a minute and 10,000 recipients a day per mailbox; a 4th concurrent
                    // connection gets 432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded.
                    "rate.messages-per-minute", "30", "rate.recipients-per-day", "10000",
                    "pool.max-connections", "3");
        }
    },
    /** Gmail (consumer account) SMTP submission with an app password. */
    GMAIL("gmail", RelayConfig.AuthMechanism.PLAIN, true) {
        @Override
        Map<String, String> values(Optional<String> region) {
            return ordered("host", "smtp.gmail.com", "port", "587", "security", "starttls",
                    "max-message-size", "25000000", "rate.recipients-per-day", "500",
                    "max-recipients-per-message", "100");
        }
    },
    /** Google Workspace SMTP relay service (also takes mail by IP address, with no credentials). */
    GOOGLE_WORKSPACE_RELAY("google-workspace-relay", RelayConfig.AuthMechanism.PLAIN, true) {
        @Override
        Map<String, String> values(Optional<String> region) {
            return ordered("host", "smtp-relay.gmail.com", "port", "587", "security", "starttls",
                    "max-message-size", "25000000", "rate.recipients-per-day", "10000");
        }
    },
    /** Amazon SES SMTP interface of one region (account limits vary; the sandbox rate is the floor). */
    AMAZON_SES("amazon-ses", RelayConfig.AuthMechanism.PLAIN, false) {
        @Override
        Map<String, String> values(Optional<String> region) {
            return ordered("host", "email-smtp." + region.orElseThrow() + ".amazonaws.com", "port", "587",
                    "security", "starttls", "max-message-size", "40000000", "max-recipients-per-message", "50",
                    "rate.messages-per-minute", "60");
        }

        @Override
        public boolean needsRegion() {
            return true;
        }
    };

    private final String configName;
    private final RelayConfig.AuthMechanism passwordMechanism;
    private final boolean acceptsXOAuth2;

    Preset(String configName, RelayConfig.AuthMechanism passwordMechanism, boolean acceptsXOAuth2) {
        this.configName = configName;
        this.passwordMechanism = passwordMechanism;
        this.acceptsXOAuth2 = acceptsXOAuth2;
    }

    /** The mechanism the provider documents for a user name and password: tried first with a password. */
    public RelayConfig.AuthMechanism passwordMechanism() {
        return passwordMechanism;
    }

    /** Whether the provider takes OAuth 2.0 access tokens ({@code AUTH XOAUTH2}). */
    public boolean acceptsXOAuth2() {
        return acceptsXOAuth2;
    }

    /**
     * The preset's values, keyed by the part after {@code upstream.} (so the same preset serves a
     * named route's {@code route.NAME.*} keys).
     */
    abstract Map<String, String> values(Optional<String> region);

    /** Whether {@code upstream.region} must be set. */
    public boolean needsRegion() {
        return false;
    }

    public String configName() {
        return configName;
    }

    public static Optional<Preset> byName(String name) {
        for (Preset p : values()) {
            if (p.configName.equals(name.trim().toLowerCase(Locale.ROOT))) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** All names, for error messages. */
    public static String names() {
        return String.join(", ", java.util.Arrays.stream(values()).map(Preset::configName).toList());
    }

    private static Map<String, String> ordered(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }
}
