package dev.tlsrelay.cli;

import dev.tlsrelay.config.Units;
import dev.tlsrelay.oauth.BrowserLogin;
import dev.tlsrelay.oauth.DeviceLogin;
import dev.tlsrelay.oauth.OAuthEndpoint;
import dev.tlsrelay.oauth.Provider;
import dev.tlsrelay.oauth.RefreshTokenFile;
import dev.tlsrelay.oauth.TokenException;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.TrustSource;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tlsrelay oauth2}: OAuth 2.0 for the upstream (AUTH XOAUTH2). */
@Command(name = "oauth2", mixinStandardHelpOptions = true,
        description = "OAuth 2.0 for the upstream (AUTH XOAUTH2): get the refresh token the relay works with.",
        subcommands = {OAuth2Command.Login.class, CommandLine.HelpCommand.class})
final class OAuth2Command implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Main.EXIT_CONFIG;
    }

    /** {@code tlsrelay oauth2 login}: a person signs in once; the refresh token goes to a 0600 file. */
    @Command(name = "login", mixinStandardHelpOptions = true,
            description = {"Sign in once as the mailbox the relay sends as, and store the refresh token the relay"
                    + " then uses (upstream.oauth2.refresh-token-file), in a file only its owner can read.",
                    "microsoft: a code to enter at a Microsoft URL, on any device (device authorization grant).",
                    "google: a consent URL to open in a browser; the browser comes back to this machine on"
                            + " 127.0.0.1, or you paste the address it ends on here.",
                    "Run it as the user the relay runs as (sudo -u tlsrelay ...). The token itself is never printed."})
    static final class Login implements Callable<Integer> {

        @Option(names = "--provider", required = true, paramLabel = "google|microsoft",
                description = "where the mailbox is")
        String provider;

        @Option(names = "--client-id", required = true, paramLabel = "ID",
                description = "application (client) id of your app registration")
        String clientId;

        @Option(names = "--client-secret-file", paramLabel = "FILE",
                description = "file whose first line is the client secret (Google: required)")
        Path clientSecretFile;

        @Option(names = "--tenant", paramLabel = "TENANT", defaultValue = "organizations",
                description = "Microsoft: tenant id or domain (default: ${DEFAULT-VALUE})")
        String tenant;

        @Option(names = "--token-file", paramLabel = "FILE", defaultValue = "conf/oauth2-refresh-token",
                description = "where to store the refresh token, mode 0600 (default: ${DEFAULT-VALUE})")
        Path tokenFile;

        @Option(names = "--scope", paramLabel = "SCOPE", description = "instead of the provider's SMTP scope")
        String scope;

        @Option(names = "--flow", paramLabel = "device|browser",
                description = "instead of the provider's usual way to sign in (microsoft: device, google: browser)")
        String flow;

        @Option(names = "--device-url", paramLabel = "URL", description = "instead of the provider's device authorization endpoint")
        URI deviceUrl;

        @Option(names = "--auth-url", paramLabel = "URL", description = "instead of the provider's authorization endpoint")
        URI authUrl;

        @Option(names = "--token-url", paramLabel = "URL", description = "instead of the provider's token endpoint")
        URI tokenUrl;

        @Option(names = "--ca-file", paramLabel = "FILE",
                description = "PEM bundle of the CAs trusted for these endpoints (default: the JDK trust store)")
        Path caFile;

        @Option(names = "--wait", paramLabel = "DURATION", defaultValue = "15m",
                description = "give up when nobody signed in after this long (default: ${DEFAULT-VALUE})")
        String wait;

        @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "30s",
                description = "bound on each request to the provider (default: ${DEFAULT-VALUE})")
        String timeout;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws InterruptedException {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            Provider p = Provider.fromConfigName(provider)
                    .orElseThrow(() -> usage("--provider " + provider + ": expected google or microsoft"));
            Provider.Flow how = flow == null ? p.flow() : switch (flow.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "device" -> Provider.Flow.DEVICE;
                case "browser" -> Provider.Flow.BROWSER;
                default -> throw usage("--flow " + flow + ": expected device or browser");
            };
            if (clientId.isBlank() || !clientId.matches("[\\x21-\\x7e]{1,200}")) {
                throw usage("--client-id: expected the application (client) id of your app registration");
            }
            if (p.needsClientSecret() && clientSecretFile == null) {
                throw usage("--provider " + p.configName() + " needs --client-secret-file (the secret of the OAuth"
                        + " client; Google's token endpoint asks for it)");
            }
            Duration maxWait = duration("--wait", wait);
            Duration requestTimeout = duration("--timeout", timeout);
            URI token;
            URI device;
            URI auth;
            try {
                token = https("--token-url", tokenUrl != null ? tokenUrl : p.tokenUrl(tenant));
                device = https("--device-url", deviceUrl != null ? deviceUrl : p.deviceUrl(tenant));
                auth = https("--auth-url", authUrl != null ? authUrl : p.authorizationUrl(tenant));
            } catch (IllegalArgumentException e) {
                throw usage("--tenant " + tenant + ": " + e.getMessage());
            }
            Optional<String> secret = Optional.empty();
            if (clientSecretFile != null) {
                try {
                    secret = Files.readAllLines(clientSecretFile, StandardCharsets.UTF_8).stream().findFirst()
                            .map(String::strip).filter(s -> !s.isEmpty());
                } catch (IOException e) {
                    throw usage("--client-secret-file " + clientSecretFile + ": cannot read it (" + e.getMessage() + ")");
                }
                if (secret.isEmpty()) {
                    throw usage("--client-secret-file " + clientSecretFile + ": its first line must be the secret");
                }
            }
            TrustSource trust = TrustSource.jdkDefault();
            if (caFile != null) {
                try {
                    trust = TrustSource.fromPemFile(caFile);
                } catch (IOException | RuntimeException e) {
                    throw usage("--ca-file " + caFile + ": expected a PEM file with CA certificates (" + e.getMessage()
                            + ")");
                }
            }
            // The instructions go to standard output; the log (warnings) to standard error.
            ConsoleLog.toStandardError();
            TlsPolicy https = TlsPolicy.fullVerification(trust, requestTimeout);
            String askedScope = scope != null ? scope : p.scope();
            OAuthEndpoint.Tokens tokens;
            try {
                OAuthEndpoint tokenEndpoint = new OAuthEndpoint(token, https, requestTimeout);
                if (how == Provider.Flow.DEVICE) {
                    tokens = DeviceLogin.run(new OAuthEndpoint(device, https, requestTimeout), tokenEndpoint, clientId,
                            secret, askedScope, maxWait, i -> {
                                out.println("To sign in, open " + i.verificationUri() + " in a browser (on any device)"
                                        + " and enter the code " + i.userCode());
                                i.verificationUriComplete().ifPresent(u -> out.println("  or open " + u));
                                out.println("Sign in as the mailbox the relay sends as. Waiting up to "
                                        + i.expiresIn().toMinutes() + " minutes ...");
                                out.flush();
                            });
                } else {
                    tokens = BrowserLogin.run(auth, tokenEndpoint, clientId, secret, askedScope,
                            p.authorizationParameters(), maxWait, u -> {
                                out.println("To sign in, open this address in a browser and sign in as the mailbox"
                                        + " the relay sends as:");
                                out.println();
                                out.println("  " + u);
                                out.println();
                                out.println("The browser then comes back to this machine (127.0.0.1). If it runs"
                                        + " elsewhere and ends on an error page, paste the address it shows here and"
                                        + " press Enter.");
                                out.flush();
                            }, System.in);
                }
            } catch (GeneralSecurityException e) {
                throw usage("--ca-file: the trust anchors are unusable (" + e.getMessage() + ")");
            } catch (TokenException e) {
                err.println("tlsrelay oauth2 login: " + e.getMessage() + "; " + e.fix());
                return 1;
            } catch (IOException e) {
                err.println("tlsrelay oauth2 login: cannot listen on 127.0.0.1 for the browser: " + e.getMessage());
                return 1;
            }
            try {
                RefreshTokenFile.write(tokenFile, tokens.refreshToken().orElseThrow());
            } catch (IOException | RuntimeException e) {
                err.println("tlsrelay oauth2 login: signed in, but cannot write " + tokenFile + ": " + e.getMessage()
                        + "; nothing was stored, run the login again with a writable --token-file");
                return 1;
            }
            out.println("Signed in. The refresh token is in " + tokenFile.toAbsolutePath() + " (mode 0600); the relay"
                    + " replaces it there when the provider rotates it.");
            out.println("Configuration for the relay (conf/tlsrelay.properties):");
            for (String line : config(p, token, secret.isPresent(), askedScope)) {
                out.println("  " + line);
            }
            out.flush();
            return 0;
        }

        private List<String> config(Provider p, URI token, boolean withSecret, String askedScope) {
            List<String> lines = new java.util.ArrayList<>(List.of(
                    "upstream.host = " + p.smtpHost(),
                    "upstream.oauth2.token-url = " + token,
                    "upstream.oauth2.client-id = " + clientId,
                    "upstream.oauth2.refresh-token-file = " + tokenFile.toAbsolutePath()));
            if (withSecret) {
                lines.add("upstream.oauth2.client-secret-file = " + clientSecretFile.toAbsolutePath());
            }
            if (p == Provider.MICROSOFT) {
                lines.add("upstream.oauth2.scope = " + askedScope);
            }
            lines.add("# and upstream.auth.username = the address of the mailbox you signed in as");
            return lines;
        }

        private Duration duration(String option, String value) {
            try {
                Duration d = Units.parseDuration(value);
                if (d.isZero() || d.isNegative()) {
                    throw new IllegalArgumentException();
                }
                return d;
            } catch (IllegalArgumentException e) {
                throw usage(option + " " + value + ": expected a duration such as 30s or 15m");
            }
        }

        private URI https(String option, URI uri) {
            if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
                throw usage(option + " " + uri + ": expected an https:// URL");
            }
            return uri;
        }

        private ParameterException usage(String message) {
            return new ParameterException(spec.commandLine(), "tlsrelay oauth2 login: " + message);
        }
    }
}
