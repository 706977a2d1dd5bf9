package dev.tlsrelay.config;

import dev.tlsrelay.audit.AuditKey;
import dev.tlsrelay.audit.Rotation;
import dev.tlsrelay.auth.UsersFile;
import dev.tlsrelay.config.RelayConfig.Credentials;
import dev.tlsrelay.config.RelayConfig.Origin;
import dev.tlsrelay.config.RelayConfig.Secret;
import dev.tlsrelay.config.RelayConfig.Setting;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.InboundTlsServer;
import dev.tlsrelay.tls.InboundTlsVersion;
import dev.tlsrelay.tls.SpkiPin;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.TlsVersion;
import dev.tlsrelay.tls.TrustSource;
import dev.tlsrelay.tls.VerifyMode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.commons.configuration2.PropertiesConfiguration;
import org.apache.commons.configuration2.builder.fluent.Configurations;
import org.apache.commons.configuration2.ex.ConfigurationException;

/**
 * Reads a properties file, applies {@code TLSRELAY_*} environment overrides, and validates
 * everything at once into a {@link RelayConfig}. Either every value is valid, or a
 * {@link ConfigException} lists every problem with its key, value and what was expected.
 */
public final class ConfigLoader {

    /** Documentation placeholders (RFC 2606 names) that must never reach production unnoticed. */
    private static final Pattern EXAMPLE_VALUE =
            Pattern.compile("(?i).*\\bexample\\.(com|net|org)\\b.*|change-me");

    private final Map<String, String> fileValues;
    private static final String ENV_PREFIX = "TLSRELAY_";
    /** {@code TLSRELAY_*} variables that are not config keys: the log level, read by logback.xml. */
    private static final Set<String> OTHER_VARIABLES = Set.of("TLSRELAY_LOG_LEVEL");

    private final Map<String, String> environment;
    private final List<String> problems = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private final List<Setting> settings = new ArrayList<>();
    /** The preset's values under explicit ones; computed on first use. */
    private Map<Key, String> presetValues;
    /** The preset named by {@code upstream.preset}, once {@link #presetValues()} accepted it. */
    private Optional<Preset> preset = Optional.empty();

    private ConfigLoader(Map<String, String> fileValues, Map<String, String> environment) {
        this.fileValues = fileValues;
        this.environment = environment;
    }

    /** Loads a properties file plus environment overrides. */
    public static RelayConfig load(Path file, Map<String, String> environment) throws ConfigException {
        return fromValues(readFile(file), environment);
    }

    /**
     * Builds a configuration from key/value pairs as if they came from a file, plus environment
     * overrides. Unknown keys are errors, so a typo never silently leaves a default in force.
     */
    public static RelayConfig fromValues(Map<String, String> values, Map<String, String> environment)
            throws ConfigException {
        return new ConfigLoader(values, environment).build();
    }

    private static Map<String, String> readFile(Path file) throws ConfigException {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(List.of("config file " + file + " does not exist or is not a file;"
                    + " pass an existing file with --config"));
        }
        try {
            PropertiesConfiguration props = new Configurations().properties(file.toFile());
            Map<String, String> out = new LinkedHashMap<>();
            for (Iterator<String> it = props.getKeys(); it.hasNext(); ) {
                String k = it.next();
                out.put(k, props.getString(k));
            }
            return out;
        } catch (ConfigurationException e) {
            throw new ConfigException(List.of("cannot read config file " + file + ": " + e.getMessage()));
        }
    }

    private RelayConfig build() throws ConfigException {
        for (String k : fileValues.keySet()) {
            if (Key.byName(k).isEmpty() && !k.startsWith(RouteKeys.PREFIX)) {
                problems.add(k + ": unknown key" + suggestion(k, Key::key) + "; see conf/tlsrelay.properties for all keys");
            }
        }
        for (String variable : environment.keySet()) {
            if (isUnknownVariable(variable)) {
                // A misspelt TLSRELAY_UPSTREAM_AUTH_PASSWORD must not leave the relay running without it.
                problems.add(variable + ": environment variable names no config key"
                        + suggestion(variable, Key::environmentVariable) + "; unset it, or use TLSRELAY_ and the key"
                        + " upper-cased with . and - as _ (keys: conf/tlsrelay.properties)");
            }
        }
        RelayConfig.Listen listen = listen();
        Optional<RelayConfig.InboundTls> inboundTls = inboundTls();
        Optional<RelayConfig.InboundAuth> inboundAuth = inboundAuth(inboundTls.isPresent(), listen.host());
        RelayConfig.SenderPolicy senders = senders();
        RelayConfig.DeliveryMode mode = parse(Key.DELIVERY_MODE,
                v -> enumValue(RelayConfig.DeliveryMode.class, v.replace('-', '_')), "spool or pass-through");
        RelayConfig.Spool spool = spool();
        RelayConfig.Upstream upstream = upstream();
        Routing routing = new Routing(RouteKeys.parse(fileValues, environment, problems, warnings), limits());
        RelayConfig.Audit audit = audit();
        RelayConfig.Admin admin = admin();
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new RelayConfig(listen, inboundTls, inboundAuth, senders, mode, spool, upstream, audit, admin, settings,
                warnings, routing);
    }

    /**
     * One named route's {@code upstream.*}-shaped keys, validated by the same code as the default
     * upstream. Problems and warnings name the {@code upstream.*} keys; the caller renames them.
     *
     * @param environment the route's environment overrides, under the {@code TLSRELAY_UPSTREAM_*} names
     */
    static Routing.NamedRoute namedRoute(String name, Routing.Selectors selectors, Map<String, String> upstreamKeys,
            Map<String, String> environment, List<String> problems, List<String> warnings) {
        ConfigLoader sub = new ConfigLoader(upstreamKeys, environment);
        RelayConfig.Upstream upstream = sub.upstream();
        Routing.Limits limits = sub.limits();
        problems.addAll(sub.problems);
        warnings.addAll(sub.warnings);
        List<Routing.RouteSetting> shown = sub.settings.stream()
                .filter(s -> s.origin() == Origin.FILE || s.origin() == Origin.ENVIRONMENT
                        || s.origin() == Origin.PRESET)
                .map(s -> new Routing.RouteSetting(s.key().key(), s.shown(), s.origin()))
                .toList();
        return new Routing.NamedRoute(name, selectors, upstream, limits, shown);
    }

    /** The sending limits of the upstream this loader describes (defaults from its preset). */
    private Routing.Limits limits() {
        long maxSize = parse(Key.UPSTREAM_MAX_MESSAGE_SIZE, Units::parseSize, "a size such as 35MiB, or 0", 0L);
        return new Routing.Limits(
                nonNegativeInt(Key.UPSTREAM_RATE_MESSAGES_PER_MINUTE),
                nonNegativeInt(Key.UPSTREAM_RATE_RECIPIENTS_PER_DAY),
                maxSize,
                nonNegativeInt(Key.UPSTREAM_MAX_RECIPIENTS_PER_MESSAGE),
                duration(Key.UPSTREAM_RATE_MAX_WAIT),
                duration(Key.UPSTREAM_RATE_THROTTLE_BACKOFF));
    }

    private int nonNegativeInt(Key key) {
        Integer n = parse(key, Integer::parseInt, "a whole number, 0 for no limit", 0);
        if (n != null && n < 0) {
            problem(key, String.valueOf(n), "a whole number, 0 for no limit");
            return 0;
        }
        return n == null ? 0 : n;
    }

    /**
     * {@code upstream.preset} expanded: the provider's values for keys not set explicitly. With
     * {@code upstream.hosts} set, the preset's host and port step aside.
     */
    private Map<Key, String> presetValues() {
        if (presetValues != null) {
            return presetValues;
        }
        presetValues = Map.of();
        Optional<String> name = explicit(Key.UPSTREAM_PRESET);
        Optional<String> region = explicit(Key.UPSTREAM_REGION);
        if (name.isEmpty()) {
            if (region.isPresent()) {
                warnings.add(Key.UPSTREAM_REGION.key() + " = " + region.get() + " is ignored without "
                        + Key.UPSTREAM_PRESET.key() + " = amazon-ses");
            }
            return presetValues;
        }
        Optional<Preset> preset = Preset.byName(name.get());
        if (preset.isEmpty()) {
            problem(Key.UPSTREAM_PRESET, name.get(), "one of " + Preset.names());
            return presetValues;
        }
        this.preset = preset;
        if (preset.get().needsRegion()) {
            if (region.isEmpty()) {
                problems.add(Key.UPSTREAM_PRESET.key() + " = " + preset.get().configName() + " needs "
                        + Key.UPSTREAM_REGION.key() + ", the AWS region of your SES account, e.g. eu-west-1");
                return presetValues;
            }
            if (!region.get().matches("[a-z]{2}(-[a-z]+)+-[0-9]")) {
                problem(Key.UPSTREAM_REGION, region.get(), "an AWS region such as eu-west-1 or us-east-2");
                return presetValues;
            }
        }
        boolean hostsExplicit = explicit(Key.UPSTREAM_HOSTS).isPresent();
        Map<Key, String> out = new LinkedHashMap<>();
        preset.get().values(region).forEach((suffix, v) -> {
            Key k = Key.byName("upstream." + suffix).orElseThrow();
            if (!(hostsExplicit && (k == Key.UPSTREAM_HOST || k == Key.UPSTREAM_PORT))) {
                out.put(k, v);
            }
        });
        presetValues = out;
        return presetValues;
    }

    private RelayConfig.Admin admin() {
        InetAddress host = parse(Key.ADMIN_HOST, ConfigLoader::ipLiteral, "an IP address such as 127.0.0.1");
        if (value(Key.ADMIN_PORT).isEmpty()) {
            record(Key.ADMIN_PORT);
            return new RelayConfig.Admin(Optional.empty());
        }
        int port = port(Key.ADMIN_PORT, true);
        if (host != null && !host.isLoopbackAddress()) {
            warnings.add("admin.host = " + host.getHostAddress() + ": health and metrics are reachable from the"
                    + " network (they reveal upstream names and traffic volumes)");
        }
        return new RelayConfig.Admin(host == null ? Optional.empty()
                : Optional.of(new java.net.InetSocketAddress(host, port)));
    }

    private RelayConfig.Listen listen() {
        InetAddress host = parse(Key.LISTEN_HOST, ConfigLoader::ipLiteral, "an IP address such as 127.0.0.1");
        int port = port(Key.LISTEN_PORT, true);
        List<Cidr> allowed = parse(Key.LISTEN_ALLOWED_NETWORKS, ConfigLoader::cidrs,
                "a comma-separated CIDR list such as 127.0.0.0/8, 192.168.10.0/24");
        if (host != null && allowed != null) {
            checkExposure(host, allowed);
        }
        long maxSize = parse(Key.LISTEN_MAX_MESSAGE_SIZE, Units::parseSize, "a size such as 25MiB", 0L);
        if (maxSize > Integer.MAX_VALUE) {
            problem(Key.LISTEN_MAX_MESSAGE_SIZE, String.valueOf(maxSize), "at most 2GiB");
        }
        return new RelayConfig.Listen(
                host,
                port,
                hostname(Key.LISTEN_HOSTNAME),
                allowed == null ? List.of() : allowed,
                maxSize,
                positiveInt(Key.LISTEN_MAX_RECIPIENTS),
                positiveInt(Key.LISTEN_MAX_CONNECTIONS),
                duration(Key.LISTEN_TIMEOUT),
                duration(Key.LISTEN_DRAIN_TIMEOUT),
                abuse());
    }

    private RelayConfig.Abuse abuse() {
        int maxLine = positiveInt(Key.LISTEN_MAX_LINE_LENGTH);
        if (maxLine > 0 && maxLine < 80) {
            problem(Key.LISTEN_MAX_LINE_LENGTH, String.valueOf(maxLine), "at least 80 (RFC 5321 requires 1000)");
        }
        RelayConfig.BareNewline bare = parse(Key.LISTEN_BARE_NEWLINE,
                v -> enumValue(RelayConfig.BareNewline.class, v), "reject or normalize");
        return new RelayConfig.Abuse(bare, maxLine, positiveInt(Key.LISTEN_MAX_COMMANDS),
                positiveInt(Key.LISTEN_MAX_ERRORS), positiveInt(Key.LISTEN_MAX_CONNECTIONS_PER_IP),
                positiveInt(Key.LISTEN_RATE_PER_IP), duration(Key.LISTEN_MAX_SESSION_DURATION));
    }

    private RelayConfig.SenderPolicy senders() {
        List<String> allowed = value(Key.RELAY_ALLOWED_SENDERS).map(ConfigLoader::commaList).orElse(List.of());
        record(Key.RELAY_ALLOWED_SENDERS);
        for (String a : allowed) {
            if (!a.matches("[^@\\s<>]*@?[A-Za-z0-9.-]+\\.[A-Za-z0-9-]+") || a.startsWith("@")) {
                problem(Key.RELAY_ALLOWED_SENDERS, a, "addresses (scanner@corp.test) or domains (corp.test)");
            }
        }
        Optional<String> rewrite = value(Key.RELAY_REWRITE_FROM);
        record(Key.RELAY_REWRITE_FROM);
        if (rewrite.isPresent() && !rewrite.get().matches("[^@\\s<>]+@[A-Za-z0-9.-]+")) {
            problem(Key.RELAY_REWRITE_FROM, rewrite.get(), "one address such as scanner@corp.test");
        }
        Boolean header = parse(Key.RELAY_REWRITE_HEADER_FROM, ConfigLoader::bool, "true or false");
        if (Boolean.TRUE.equals(header) && rewrite.isEmpty()) {
            problems.add(Key.RELAY_REWRITE_HEADER_FROM.key() + " = true needs " + Key.RELAY_REWRITE_FROM.key()
                    + ": set the address to rewrite to");
        }
        return new RelayConfig.SenderPolicy(allowed, rewrite, Boolean.TRUE.equals(header));
    }

    /** An open relay is refused outright; anything reachable beyond this machine is warned about. */
    private void checkExposure(InetAddress host, List<Cidr> allowed) {
        boolean loopbackListener = host.isLoopbackAddress();
        for (Cidr c : allowed) {
            if (c.isEverything() && !loopbackListener) {
                problems.add(Key.LISTEN_ALLOWED_NETWORKS.key() + " = " + c + ": allows every address while "
                        + Key.LISTEN_HOST.key() + " = " + host.getHostAddress()
                        + " is reachable from the network; that is an open relay. List only the networks"
                        + " of your devices, e.g. 192.168.10.0/24");
            }
        }
        if (!loopbackListener) {
            warnings.add("listening on " + host.getHostAddress() + ", reachable from the network: clients in "
                    + allowed + " can send mail with the relay's upstream credentials");
        }
    }

    // ---- LAN mode: inbound STARTTLS and AUTH ----------------------------------------------------

    private Optional<RelayConfig.InboundTls> inboundTls() {
        Optional<String> cert = value(Key.LISTEN_TLS_CERT_FILE);
        Optional<String> key = value(Key.LISTEN_TLS_KEY_FILE);
        record(Key.LISTEN_TLS_CERT_FILE);
        record(Key.LISTEN_TLS_KEY_FILE);
        InboundTlsVersion min = parse(Key.LISTEN_TLS_MIN_VERSION,
                v -> InboundTlsVersion.fromConfigName(v).orElseThrow(), "TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3");
        if (cert.isEmpty() != key.isEmpty()) {
            problems.add(Key.LISTEN_TLS_CERT_FILE.key() + " and " + Key.LISTEN_TLS_KEY_FILE.key()
                    + " go together: set both (to offer STARTTLS to devices) or neither");
            return Optional.empty();
        }
        if (cert.isEmpty()) {
            return Optional.empty();
        }
        HeldCertificate identity;
        try {
            identity = HeldCertificate.fromPem(Path.of(cert.get()), Path.of(key.get()));
        } catch (IOException | RuntimeException e) {
            problem(Key.LISTEN_TLS_CERT_FILE, cert.get(), "a PEM certificate chain whose key is in "
                    + Key.LISTEN_TLS_KEY_FILE.key() + " (" + e.getMessage() + ")");
            return Optional.empty();
        }
        if (othersCanRead(Path.of(key.get()))) {
            warnings.add(Key.LISTEN_TLS_KEY_FILE.key() + " = " + key.get() + " is readable by every user on this"
                    + " machine: chmod o-r it");
        }
        if (identity.certificate().getNotAfter().toInstant().isBefore(java.time.Instant.now())) {
            warnings.add(Key.LISTEN_TLS_CERT_FILE.key() + " = " + cert.get() + ": the certificate expired on "
                    + identity.certificate().getNotAfter().toInstant() + "; devices that check it will refuse STARTTLS");
        }
        if (min == null) {
            return Optional.empty();
        }
        if (min.isLegacy()) {
            if (!InboundTlsServer.canServeLegacy(identity)) {
                problem(Key.LISTEN_TLS_MIN_VERSION, min.configName(), "TLSv1.2 or newer with a "
                        + identity.keyPair().getPrivate().getAlgorithm() + " key (TLS 1.0/1.1 need an RSA or ECDSA key)");
                return Optional.empty();
            }
            boolean rsa = "RSA".equalsIgnoreCase(identity.keyPair().getPrivate().getAlgorithm());
            warnings.add("inbound TLS down to " + min.configName() + " (" + Key.LISTEN_TLS_MIN_VERSION.key()
                    + "): devices may use " + min.configName() + " with AES-CBC suites"
                    + (rsa ? ", and RSA key exchange without forward secrecy," : "")
                    + " which are weak against a capable attacker on the LAN. Only this listener accepts them: the"
                    + " upstream side stays TLS 1.2+. Raise it once the old devices are gone");
        }
        return Optional.of(new RelayConfig.InboundTls(identity, min));
    }

    private Optional<RelayConfig.InboundAuth> inboundAuth(boolean tls, InetAddress listenHost) {
        Optional<String> users = value(Key.LISTEN_AUTH_USERS_FILE);
        record(Key.LISTEN_AUTH_USERS_FILE);
        Boolean required = parse(Key.LISTEN_AUTH_REQUIRED, ConfigLoader::bool, "true or false");
        Boolean plaintext = parse(Key.LISTEN_AUTH_ALLOW_PLAINTEXT, ConfigLoader::bool, "true or false");
        if (users.isEmpty()) {
            if (Boolean.TRUE.equals(required)) {
                problems.add(Key.LISTEN_AUTH_REQUIRED.key() + " = true needs " + Key.LISTEN_AUTH_USERS_FILE.key()
                        + " (nobody could authenticate): create one with tlsrelay passwd USER --users-file FILE");
            }
            return Optional.empty();
        }
        Path file = Path.of(users.get());
        try {
            UsersFile f = UsersFile.read(file);
            if (f.userNames().isEmpty()) {
                warnings.add(Key.LISTEN_AUTH_USERS_FILE.key() + " = " + file + " lists no user: every AUTH fails;"
                        + " add one with tlsrelay passwd USER --users-file " + file);
            }
            if (!f.weakHashes().isEmpty()) {
                warnings.add(Key.LISTEN_AUTH_USERS_FILE.key() + " = " + file + ": the password hashes of "
                        + f.weakHashes() + " are cheaper than today's default; set them again with tlsrelay passwd");
            }
        } catch (UsersFile.UsersFileException e) {
            e.problems().forEach(p -> problems.add(Key.LISTEN_AUTH_USERS_FILE.key() + ": " + p));
        } catch (IOException e) {
            problem(Key.LISTEN_AUTH_USERS_FILE, users.get(), "a readable file of user:hash lines written by"
                    + " tlsrelay passwd (" + e.getMessage() + ")");
        }
        if (othersCanRead(file)) {
            warnings.add(Key.LISTEN_AUTH_USERS_FILE.key() + " = " + file + " is readable by every user on this"
                    + " machine, who could attack the password hashes offline: chmod 600 it");
        }
        if (!tls && !Boolean.TRUE.equals(plaintext)) {
            problems.add(Key.LISTEN_AUTH_USERS_FILE.key() + " is set, but AUTH is only offered after STARTTLS and"
                    + " inbound STARTTLS is off: set " + Key.LISTEN_TLS_CERT_FILE.key() + " and "
                    + Key.LISTEN_TLS_KEY_FILE.key() + ", or (for devices on this machine only) "
                    + Key.LISTEN_AUTH_ALLOW_PLAINTEXT.key() + " = true");
        }
        if (Boolean.TRUE.equals(plaintext)) {
            boolean exposed = listenHost != null && !listenHost.isLoopbackAddress();
            warnings.add(Key.LISTEN_AUTH_ALLOW_PLAINTEXT.key() + " = true: AUTH is offered before STARTTLS, so a"
                    + " device that does not start TLS sends its password in clear"
                    + (exposed ? " across the network (the listener on " + listenHost.getHostAddress()
                            + " is reachable from it)" : ""));
        }
        if (required == null || plaintext == null) {
            return Optional.empty();
        }
        return Optional.of(new RelayConfig.InboundAuth(file, required, plaintext));
    }

    private static boolean othersCanRead(Path file) {
        try {
            return Files.getPosixFilePermissions(file).contains(PosixFilePermission.OTHERS_READ);
        } catch (IOException | UnsupportedOperationException e) {
            return false; // unreadable files are reported as problems; non-POSIX file systems have no such bit
        }
    }

    private RelayConfig.Spool spool() {
        Duration initial = duration(Key.SPOOL_RETRY_INITIAL);
        Duration max = duration(Key.SPOOL_RETRY_MAX_INTERVAL);
        if (initial != null && max != null && max.compareTo(initial) < 0) {
            problem(Key.SPOOL_RETRY_MAX_INTERVAL, effective(Key.SPOOL_RETRY_MAX_INTERVAL).orElse(""),
                    "at least " + Key.SPOOL_RETRY_INITIAL.key() + " (" + effective(Key.SPOOL_RETRY_INITIAL).orElse("")
                            + ")");
        }
        Boolean bounce = parse(Key.SPOOL_BOUNCE, ConfigLoader::bool, "true or false");
        return new RelayConfig.Spool(
                Path.of(required(Key.SPOOL_DIR)),
                positiveInt(Key.SPOOL_WORKERS),
                initial,
                max,
                duration(Key.SPOOL_MAX_AGE),
                Boolean.TRUE.equals(bounce),
                positiveInt(Key.SPOOL_MAX_MESSAGES),
                parse(Key.SPOOL_MIN_FREE_SPACE, Units::parseSize, "a size such as 100MiB", 0L));
    }

    private RelayConfig.Upstream upstream() {
        record(Key.UPSTREAM_PRESET);
        record(Key.UPSTREAM_REGION);
        TlsMode security = parse(Key.UPSTREAM_SECURITY, v -> enumValue(TlsMode.class, v),
                "starttls or implicit (there is no plaintext mode)");
        List<RelayConfig.Route> routes = routes(security);
        Duration timeout = duration(Key.UPSTREAM_TIMEOUT);
        TlsPolicy tls = tlsPolicy(timeout);
        Optional<Credentials> auth = credentials(timeout);
        RelayConfig.Pool pool = new RelayConfig.Pool(positiveInt(Key.UPSTREAM_POOL_MAX_CONNECTIONS),
                duration(Key.UPSTREAM_POOL_IDLE_TIMEOUT), positiveInt(Key.UPSTREAM_POOL_MAX_MESSAGES));
        return new RelayConfig.Upstream(routes, tls, auth, timeout, pool);
    }

    /** {@code upstream.host} (+ port, security) or {@code upstream.hosts}: exactly one of the two. */
    private List<RelayConfig.Route> routes(TlsMode security) {
        Optional<String> hosts = value(Key.UPSTREAM_HOSTS);
        record(Key.UPSTREAM_HOSTS);
        if (hosts.isPresent()) {
            if (value(Key.UPSTREAM_HOST).isPresent() || value(Key.UPSTREAM_PORT).isPresent()) {
                problems.add(Key.UPSTREAM_HOSTS.key() + " and " + Key.UPSTREAM_HOST.key() + "/"
                        + Key.UPSTREAM_PORT.key() + " are both set: keep one way of naming the smarthost");
                return List.of();
            }
            record(Key.UPSTREAM_HOST);
            record(Key.UPSTREAM_PORT);
            List<RelayConfig.Route> out = parse(Key.UPSTREAM_HOSTS,
                    v -> commaList(v).stream().map(e -> route(e, security)).toList(),
                    "HOST[:PORT][/starttls|/implicit], comma-separated", List.of());
            if (out.isEmpty() && problems.isEmpty()) {
                problem(Key.UPSTREAM_HOSTS, hosts.get(), "at least one smarthost");
            }
            return out;
        }
        String host = hostname(Key.UPSTREAM_HOST);
        int port = value(Key.UPSTREAM_PORT).isPresent() ? port(Key.UPSTREAM_PORT, false)
                : security == null ? 0 : security.defaultPort();
        if (value(Key.UPSTREAM_PORT).isEmpty() && security != null) {
            overrideShown(Key.UPSTREAM_PORT, String.valueOf(port), Origin.DEFAULT);
        }
        if (host == null || security == null) {
            return List.of();
        }
        return List.of(new RelayConfig.Route(host, port, security));
    }

    /**
     * One {@code upstream.hosts} entry. Without a mode suffix, port 465 means implicit TLS (that is
     * what the port is for) and any other port uses {@code upstream.security}.
     */
    private static RelayConfig.Route route(String entry, TlsMode defaultSecurity) {
        String e = entry;
        TlsMode mode = null;
        int slash = e.lastIndexOf('/');
        if (slash >= 0) {
            mode = enumValue(TlsMode.class, e.substring(slash + 1));
            e = e.substring(0, slash);
        }
        String host = e;
        int port = 0;
        int colon = e.lastIndexOf(':');
        if (colon > 0 && !e.endsWith("]") && e.indexOf(':') == colon) {
            host = e.substring(0, colon);
            port = Integer.parseInt(e.substring(colon + 1));
        } else if (e.startsWith("[") && e.contains("]:")) {
            host = e.substring(0, e.indexOf("]:") + 1);
            port = Integer.parseInt(e.substring(e.indexOf("]:") + 2));
        }
        if (!host.matches("[A-Za-z0-9._:\\[\\]-]+")) {
            throw new IllegalArgumentException("bad host in " + entry);
        }
        if (mode == null) {
            mode = port == 465 ? TlsMode.IMPLICIT : defaultSecurity;
        }
        if (mode == null) {
            throw new IllegalArgumentException("no mode for " + entry);
        }
        if (port == 0) {
            port = mode.defaultPort();
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("bad port in " + entry);
        }
        return new RelayConfig.Route(host, port, mode);
    }

    private RelayConfig.Audit audit() {
        Path file = Path.of(required(Key.AUDIT_FILE));
        long maxSize = parse(Key.AUDIT_ROTATE_MAX_SIZE, Units::parseSize, "a size such as 100MiB, or 0", 0L);
        boolean daily = bool(Key.AUDIT_ROTATE_DAILY);
        Integer maxFiles = parse(Key.AUDIT_ROTATE_MAX_FILES, Integer::parseInt, "a whole number, 0 to keep all", 0);
        if (maxFiles != null && maxFiles < 0) {
            problem(Key.AUDIT_ROTATE_MAX_FILES, String.valueOf(maxFiles), "a whole number, 0 to keep all");
        }
        if (maxFiles != null && maxFiles > 0 && maxSize == 0 && !daily) {
            problems.add(Key.AUDIT_ROTATE_MAX_FILES.key() + " = " + maxFiles + " but the audit file is never rotated:"
                    + " set " + Key.AUDIT_ROTATE_MAX_SIZE.key() + " or " + Key.AUDIT_ROTATE_DAILY.key());
        }
        Optional<AuditKey> hmacKey = auditKey(Key.AUDIT_HMAC_KEY_FILE);
        boolean redact = bool(Key.AUDIT_REDACT_ADDRESSES);
        Optional<AuditKey> redactionKey = auditKey(Key.AUDIT_REDACTION_KEY_FILE);
        if (redact && redactionKey.isEmpty() && value(Key.AUDIT_REDACTION_KEY_FILE).isEmpty()) {
            problems.add(Key.AUDIT_REDACT_ADDRESSES.key() + " = true needs " + Key.AUDIT_REDACTION_KEY_FILE.key()
                    + ": create one with  openssl rand -base64 32 > /etc/tlsrelay/audit-redaction.key");
        }
        if (!redact && value(Key.AUDIT_REDACTION_KEY_FILE).isPresent()) {
            warnings.add(Key.AUDIT_REDACTION_KEY_FILE.key() + " is set but " + Key.AUDIT_REDACT_ADDRESSES.key()
                    + " = false: addresses are written in clear");
        }
        if (hmacKey.isPresent() && redactionKey.isPresent() && hmacKey.get().sameMaterial(redactionKey.get())) {
            // Whoever searches redacted addresses holds the redaction key; with it they must not be able to
            // rewrite the chain.
            warnings.add(Key.AUDIT_HMAC_KEY_FILE.key() + " and " + Key.AUDIT_REDACTION_KEY_FILE.key() + " hold the"
                    + " same key: anyone allowed to search addresses could also rewrite the audit chain; use two keys");
        }
        return new RelayConfig.Audit(file,
                new Rotation(Math.max(0, maxSize), daily, maxFiles == null ? 0 : Math.max(0, maxFiles)),
                hmacKey, redact ? redactionKey : Optional.empty());
    }

    private Optional<AuditKey> auditKey(Key key) {
        Optional<String> file = value(key);
        record(key);
        if (file.isEmpty()) {
            return Optional.empty();
        }
        warnIfOthersCanRead(key, Path.of(file.get()));
        try {
            return Optional.of(AuditKey.read(Path.of(file.get())));
        } catch (IOException | IllegalArgumentException e) {
            problem(key, file.get(), "a readable file whose first line is a base64 key of at least "
                    + AuditKey.MIN_BYTES + " bytes (" + e.getMessage() + "); create one with  openssl rand -base64 32");
            return Optional.empty();
        }
    }

    private boolean bool(Key key) {
        Boolean b = parse(key, v -> switch (v.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException();
        }, "true or false", false);
        return b != null && b;
    }

    private TlsPolicy tlsPolicy(Duration timeout) {
        TlsVersion min = parse(Key.UPSTREAM_TLS_MIN_VERSION, v -> TlsVersion.fromProtocolName(v).orElseThrow(),
                "TLSv1.2 or TLSv1.3 (older versions are never used)");
        VerifyMode verify = parse(Key.UPSTREAM_TLS_VERIFY, v -> enumValue(VerifyMode.class, v),
                "full or pin (verification cannot be turned off)");
        List<String> suites = value(Key.UPSTREAM_TLS_CIPHER_SUITES).map(ConfigLoader::commaList)
                .orElse(TlsPolicy.MODERN_CIPHER_SUITES);
        record(Key.UPSTREAM_TLS_CIPHER_SUITES);
        Set<SpkiPin> pins = parse(Key.UPSTREAM_TLS_PIN_SHA256,
                v -> new LinkedHashSet<>(commaList(v).stream().map(SpkiPin::parse).toList()),
                "comma-separated base64 SHA-256 SPKI pins (44 characters each)", Set.of());
        TrustSource trust = TrustSource.jdkDefault();
        Optional<String> caFile = value(Key.UPSTREAM_TLS_CA_FILE);
        record(Key.UPSTREAM_TLS_CA_FILE);
        if (caFile.isPresent()) {
            try {
                trust = TrustSource.fromPemFile(Path.of(caFile.get()));
            } catch (IOException | RuntimeException e) {
                problem(Key.UPSTREAM_TLS_CA_FILE, caFile.get(), "a readable PEM file with at least one"
                        + " CERTIFICATE (" + e.getMessage() + ")");
            }
        }
        if (verify == VerifyMode.PIN) {
            if (pins.isEmpty()) {
                problem(Key.UPSTREAM_TLS_VERIFY, "pin", "pins in " + Key.UPSTREAM_TLS_PIN_SHA256.key()
                        + " (verify = pin with no pin would trust anyone)");
            } else {
                warnings.add("upstream.tls.verify = pin: the upstream is identified by its key pin alone;"
                        + " its certificate chain and host name are not checked");
            }
        }
        if (min == null || verify == null || timeout == null || (verify == VerifyMode.PIN && pins.isEmpty())) {
            return null;
        }
        try {
            return new TlsPolicy(min, suites, verify, trust, pins, timeout);
        } catch (IllegalArgumentException e) {
            problem(Key.UPSTREAM_TLS_CIPHER_SUITES, String.join(",", suites), e.getMessage());
            return null;
        }
    }

    private Optional<Credentials> credentials(Duration timeout) {
        Optional<String> user = value(Key.UPSTREAM_AUTH_USERNAME);
        Optional<String> password = value(Key.UPSTREAM_AUTH_PASSWORD);
        Optional<String> passwordFile = value(Key.UPSTREAM_AUTH_PASSWORD_FILE);
        record(Key.UPSTREAM_AUTH_USERNAME);
        record(Key.UPSTREAM_AUTH_PASSWORD);
        record(Key.UPSTREAM_AUTH_PASSWORD_FILE);
        record(Key.UPSTREAM_AUTH_MECHANISM);
        Optional<RelayConfig.AuthMechanism> mechanism = value(Key.UPSTREAM_AUTH_MECHANISM).isEmpty() ? Optional.empty()
                : Optional.ofNullable(parse(Key.UPSTREAM_AUTH_MECHANISM,
                        v -> enumValue(RelayConfig.AuthMechanism.class, v), "plain, login or xoauth2"));
        boolean oauth = value(Key.UPSTREAM_OAUTH2_TOKEN_URL).isPresent();
        Optional<RelayConfig.OAuth2> oauth2 = oauth2(timeout);
        if (oauth && (password.isPresent() || passwordFile.isPresent())) {
            problems.add(Key.UPSTREAM_OAUTH2_TOKEN_URL.key() + " and a password (" + Key.UPSTREAM_AUTH_PASSWORD.key()
                    + " or " + Key.UPSTREAM_AUTH_PASSWORD_FILE.key() + ") are both set: the relay logs in with one;"
                    + " keep the OAuth 2.0 settings or the password");
            return Optional.empty();
        }
        if (password.isPresent() && passwordFile.isPresent()) {
            problems.add(Key.UPSTREAM_AUTH_PASSWORD.key() + " and " + Key.UPSTREAM_AUTH_PASSWORD_FILE.key()
                    + " are both set: keep only one");
            return Optional.empty();
        }
        presetValues();
        if (mechanism.isEmpty() && oauth && preset.isPresent() && !preset.get().acceptsXOAuth2()) {
            problems.add(Key.UPSTREAM_OAUTH2_TOKEN_URL.key() + " is set, but " + Key.UPSTREAM_PRESET.key() + " = "
                    + preset.get().configName() + " takes no OAuth 2.0 tokens (no AUTH XOAUTH2): log in with its SMTP"
                    + " password instead (" + Key.UPSTREAM_AUTH_PASSWORD_FILE.key() + ") and remove upstream.oauth2.*");
            return Optional.empty();
        }
        if (mechanism.isPresent()) {
            boolean wantsToken = mechanism.get() == RelayConfig.AuthMechanism.XOAUTH2;
            if (wantsToken != oauth) {
                problem(Key.UPSTREAM_AUTH_MECHANISM, mechanism.get().configName(), wantsToken
                        ? "plain or login, or set " + Key.UPSTREAM_OAUTH2_TOKEN_URL.key() + " (xoauth2 sends OAuth 2.0"
                                + " tokens)"
                        : "xoauth2 (upstream.oauth2.* is set: the relay has tokens, not a password)");
            }
        }
        if (user.isEmpty()) {
            if (password.isPresent() || passwordFile.isPresent()) {
                problems.add(Key.UPSTREAM_AUTH_USERNAME.key() + " is empty but a password is set:"
                        + " set the user name too, or remove the password");
            }
            if (oauth) {
                problems.add(Key.UPSTREAM_AUTH_USERNAME.key() + " is empty but " + Key.UPSTREAM_OAUTH2_TOKEN_URL.key()
                        + " is set: XOAUTH2 names the mailbox, so set the address the relay sends as");
            }
            if (mechanism.isPresent()) {
                problems.add(Key.UPSTREAM_AUTH_MECHANISM.key() + " is set but " + Key.UPSTREAM_AUTH_USERNAME.key()
                        + " is empty: there is nobody to log in as");
            }
            return Optional.empty();
        }
        if (oauth) {
            if (mechanism.isEmpty() && preset.isPresent()) { // the preset's provider takes XOAUTH2 (checked above)
                overrideShown(Key.UPSTREAM_AUTH_MECHANISM, "xoauth2", Origin.PRESET);
            }
            return oauth2.map(o -> new Credentials(user.get(), Optional.empty(), Optional.of(o), mechanism,
                    Optional.empty()));
        }
        String secret = null;
        if (passwordFile.isPresent()) {
            warnIfOthersCanRead(Key.UPSTREAM_AUTH_PASSWORD_FILE, Path.of(passwordFile.get()));
            try {
                List<String> lines = Files.readAllLines(Path.of(passwordFile.get()), StandardCharsets.UTF_8);
                if (lines.isEmpty() || lines.get(0).isEmpty()) {
                    problem(Key.UPSTREAM_AUTH_PASSWORD_FILE, passwordFile.get(), "a file whose first line is the password");
                } else {
                    secret = lines.get(0);
                }
            } catch (IOException e) {
                problem(Key.UPSTREAM_AUTH_PASSWORD_FILE, passwordFile.get(), "a readable file (" + e + ")");
            }
        } else if (password.isPresent()) {
            secret = password.get();
            if (origin(Key.UPSTREAM_AUTH_PASSWORD) == Origin.FILE) {
                warnings.add(Key.UPSTREAM_AUTH_PASSWORD.key() + " is written in the config file: move it to a file"
                        + " only the relay can read and point " + Key.UPSTREAM_AUTH_PASSWORD_FILE.key() + " at it");
            }
        } else {
            problems.add(Key.UPSTREAM_AUTH_USERNAME.key() + " = " + user.get() + " needs a password or a token: set "
                    + Key.UPSTREAM_AUTH_PASSWORD_FILE.key() + " (preferred) or " + Key.UPSTREAM_AUTH_PASSWORD.key()
                    + ", or " + Key.UPSTREAM_OAUTH2_TOKEN_URL.key() + " and the other upstream.oauth2.* keys");
        }
        // The provider's documented mechanism goes first; one set explicitly is the only one used.
        Optional<RelayConfig.AuthMechanism> preferred = mechanism.isPresent() ? Optional.empty()
                : preset.map(Preset::passwordMechanism);
        preferred.ifPresent(m -> overrideShown(Key.UPSTREAM_AUTH_MECHANISM, m.configName(), Origin.PRESET));
        return secret == null ? Optional.empty()
                : Optional.of(new Credentials(user.get(), Optional.of(new Secret(secret)), Optional.empty(), mechanism,
                        preferred));
    }

    /**
     * {@code upstream.oauth2.*}: present when a token URL is set. The refresh token file is only
     * checked here (readable, not empty, private, in a directory the relay may write); it is read
     * again before every refresh, since the relay itself rewrites it when the provider rotates it.
     */
    private Optional<RelayConfig.OAuth2> oauth2(Duration timeout) {
        List<Key> keys = List.of(Key.UPSTREAM_OAUTH2_TOKEN_URL, Key.UPSTREAM_OAUTH2_CLIENT_ID,
                Key.UPSTREAM_OAUTH2_CLIENT_SECRET_FILE, Key.UPSTREAM_OAUTH2_SCOPE, Key.UPSTREAM_OAUTH2_REFRESH_TOKEN_FILE,
                Key.UPSTREAM_OAUTH2_CA_FILE);
        keys.forEach(this::record);
        Duration refreshBefore = duration(Key.UPSTREAM_OAUTH2_REFRESH_BEFORE);
        Optional<String> url = value(Key.UPSTREAM_OAUTH2_TOKEN_URL);
        if (url.isEmpty()) {
            List<String> stray = keys.stream().filter(k -> value(k).isPresent()).map(Key::key).toList();
            if (!stray.isEmpty()) {
                problems.add(String.join(", ", stray) + " set but " + Key.UPSTREAM_OAUTH2_TOKEN_URL.key()
                        + " is empty: set the provider's token endpoint to log in with OAuth 2.0, or remove them");
            }
            return Optional.empty();
        }
        java.net.URI tokenUrl = null;
        try {
            tokenUrl = new java.net.URI(url.get());
            if (!"https".equalsIgnoreCase(tokenUrl.getScheme()) || tokenUrl.getHost() == null
                    || tokenUrl.getRawUserInfo() != null || tokenUrl.getRawFragment() != null) {
                problem(Key.UPSTREAM_OAUTH2_TOKEN_URL, url.get(), "an https:// URL such as"
                        + " https://login.microsoftonline.com/TENANT/oauth2/v2.0/token (tokens never travel in clear)");
                tokenUrl = null;
            }
        } catch (java.net.URISyntaxException e) {
            problem(Key.UPSTREAM_OAUTH2_TOKEN_URL, url.get(), "a URL (" + e.getMessage() + ")");
        }
        Optional<String> clientId = value(Key.UPSTREAM_OAUTH2_CLIENT_ID);
        if (clientId.isEmpty()) {
            problems.add(Key.UPSTREAM_OAUTH2_CLIENT_ID.key() + " is required with " + Key.UPSTREAM_OAUTH2_TOKEN_URL.key()
                    + ": the application (client) id of the app registered with the provider");
        }
        Optional<Secret> clientSecret = value(Key.UPSTREAM_OAUTH2_CLIENT_SECRET_FILE)
                .flatMap(f -> firstLine(Key.UPSTREAM_OAUTH2_CLIENT_SECRET_FILE, f, "the client secret"))
                .map(Secret::new);
        Optional<String> scope = value(Key.UPSTREAM_OAUTH2_SCOPE);
        Optional<Path> refreshTokenFile = value(Key.UPSTREAM_OAUTH2_REFRESH_TOKEN_FILE).map(Path::of);
        if (refreshTokenFile.isPresent()) {
            checkRefreshTokenFile(refreshTokenFile.get());
        } else {
            if (value(Key.UPSTREAM_OAUTH2_CLIENT_SECRET_FILE).isEmpty()) {
                problems.add(Key.UPSTREAM_OAUTH2_TOKEN_URL.key() + " is set without "
                        + Key.UPSTREAM_OAUTH2_REFRESH_TOKEN_FILE.key() + ", which means the client credentials grant:"
                        + " set " + Key.UPSTREAM_OAUTH2_CLIENT_SECRET_FILE.key() + " too (or get a refresh token with"
                        + " tlsrelay oauth2 login)");
            }
            if (scope.isEmpty()) {
                problems.add(Key.UPSTREAM_OAUTH2_SCOPE.key() + " is required for the client credentials grant"
                        + " (Microsoft 365: https://outlook.office365.com/.default)");
            }
        }
        TrustSource trust = TrustSource.jdkDefault();
        Optional<String> caFile = value(Key.UPSTREAM_OAUTH2_CA_FILE);
        if (caFile.isPresent()) {
            try {
                trust = TrustSource.fromPemFile(Path.of(caFile.get()));
            } catch (IOException | RuntimeException e) {
                problem(Key.UPSTREAM_OAUTH2_CA_FILE, caFile.get(), "a readable PEM file with at least one"
                        + " CERTIFICATE (" + e.getMessage() + ")");
            }
        }
        if (tokenUrl == null || clientId.isEmpty() || refreshBefore == null || timeout == null
                || (value(Key.UPSTREAM_OAUTH2_CLIENT_SECRET_FILE).isPresent() && clientSecret.isEmpty())) {
            return Optional.empty();
        }
        // The token endpoint is verified like the smarthost: chain, host name, TLS 1.2+ with
        // forward-secret AEAD suites. Pins are the smarthost's, not the identity provider's.
        return Optional.of(new RelayConfig.OAuth2(tokenUrl, clientId.get(), clientSecret, scope, refreshTokenFile,
                TlsPolicy.fullVerification(trust, timeout), refreshBefore));
    }

    private void checkRefreshTokenFile(Path file) {
        Key key = Key.UPSTREAM_OAUTH2_REFRESH_TOKEN_FILE;
        if (firstLine(key, file.toString(), "the refresh token written by tlsrelay oauth2 login").isEmpty()) {
            return;
        }
        warnIfOthersCanRead(key, file);
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null && !Files.isWritable(dir)) {
            warnings.add(key.key() + " = " + file + ": the relay cannot write in " + dir + ", so a refresh token the"
                    + " provider rotates cannot be saved and the saved one may stop working; keep the file in a"
                    + " directory the relay owns (with systemd: under /var/lib/tlsrelay)");
        }
    }

    /** The first line of a secret's file, or empty after recording the problem. */
    private Optional<String> firstLine(Key key, String file, String what) {
        warnIfOthersCanRead(key, Path.of(file));
        try (java.io.BufferedReader r = Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
            String line = r.readLine();
            if (line == null || line.isBlank()) {
                problem(key, file, "a file whose first line is " + what);
                return Optional.empty();
            }
            return Optional.of(line.strip());
        } catch (IOException e) {
            problem(key, file, "a readable file whose first line is " + what + " (" + e + ")");
            return Optional.empty();
        }
    }

    private void warnIfOthersCanRead(Key key, Path file) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ)) {
                warnings.add(key.key() + " = " + file + " is readable by every user on"
                        + " this machine: chmod o-r it");
            }
        } catch (IOException | UnsupportedOperationException e) {
            // Unreadable files are reported as problems below; non-POSIX file systems have no such bits.
        }
    }

    // ---- values, origins and parsing --------------------------------------------------------

    /** The raw value of a key: set explicitly, else from the preset; blank counts as unset. */
    private Optional<String> value(Key key) {
        Optional<String> v = explicit(key);
        if (v.isPresent() || key == Key.UPSTREAM_PRESET || key == Key.UPSTREAM_REGION || key == Key.UPSTREAM_HOSTS) {
            return v;
        }
        return Optional.ofNullable(presetValues().get(key));
    }

    /** The value set for a key: environment first, then the file; blank counts as unset. */
    private Optional<String> explicit(Key key) {
        String env = environment.get(key.environmentVariable());
        if (env != null && !env.isBlank()) {
            return Optional.of(env.trim());
        }
        String file = fileValues.get(key.key());
        if (file != null && !file.isBlank()) {
            return Optional.of(file.trim());
        }
        return Optional.empty();
    }

    private Origin origin(Key key) {
        String env = environment.get(key.environmentVariable());
        if (env != null && !env.isBlank()) {
            return Origin.ENVIRONMENT;
        }
        String file = fileValues.get(key.key());
        if (file != null && !file.isBlank()) {
            return Origin.FILE;
        }
        if (value(key).isPresent()) {
            return Origin.PRESET;
        }
        return key.defaultValue().isPresent() ? Origin.DEFAULT : Origin.UNSET;
    }

    /** The effective value (set or default), recorded for check-config. */
    private Optional<String> effective(Key key) {
        record(key);
        return value(key).or(key::defaultValue);
    }

    private void record(Key key) {
        if (settings.stream().anyMatch(s -> s.key() == key)) {
            return;
        }
        Optional<String> v = value(key).or(key::defaultValue);
        boolean example = v.isPresent() && origin(key) != Origin.DEFAULT && EXAMPLE_VALUE.matcher(v.get()).matches();
        String shown = v.map(s -> key.secret() ? "********" : s).orElse("");
        settings.add(new Setting(key, shown, origin(key), example));
    }

    /** Shows a value the loader derived instead of the one recorded, in the same place. */
    private void overrideShown(Key key, String shown, Origin origin) {
        Setting replacement = new Setting(key, shown, origin, false);
        for (int i = 0; i < settings.size(); i++) {
            if (settings.get(i).key() == key) {
                settings.set(i, replacement);
                return;
            }
        }
        settings.add(replacement);
    }

    private String required(Key key) {
        Optional<String> v = effective(key);
        if (v.isEmpty()) {
            String alternative = key == Key.UPSTREAM_HOST ? " (or " + Key.UPSTREAM_HOSTS.key() + ")" : "";
            problems.add(key.key() + alternative + " is required (" + key.description() + "); set it in the config"
                    + " file or " + key.environmentVariable());
            return "";
        }
        return v.get();
    }

    private <T> T parse(Key key, Function<String, T> parser, String expected) {
        return parse(key, parser, expected, null);
    }

    private <T> T parse(Key key, Function<String, T> parser, String expected, T whenUnset) {
        Optional<String> v = effective(key);
        if (v.isEmpty()) {
            if (whenUnset == null) {
                required(key);
            }
            return whenUnset;
        }
        try {
            return parser.apply(v.get());
        } catch (RuntimeException e) {
            String why = e.getMessage() == null || e instanceof java.util.NoSuchElementException
                    || e instanceof NumberFormatException ? ""
                    : " (" + e.getMessage() + ")";
            problem(key, v.get(), expected + why);
            return whenUnset;
        }
    }

    private void problem(Key key, String value, String expected) {
        problems.add(key.key() + " = " + (key.secret() ? "********" : value) + ": expected " + expected);
    }

    private int port(Key key, boolean zeroAllowed) {
        Integer p = parse(key, Integer::parseInt, "a port number 1-65535");
        if (p == null) {
            return 0;
        }
        if (p < (zeroAllowed ? 0 : 1) || p > 65535) {
            problem(key, String.valueOf(p), "a port number 1-65535" + (zeroAllowed ? " (0: any free port)" : ""));
        }
        return p;
    }

    private int positiveInt(Key key) {
        Integer n = parse(key, Integer::parseInt, "a positive whole number", 0);
        if (n != null && n < 1 && value(key).isPresent()) {
            problem(key, String.valueOf(n), "a positive whole number");
        }
        return n == null ? 0 : n;
    }

    private Duration duration(Key key) {
        Duration d = parse(key, Units::parseDuration, "a duration such as 60s, 5m or 500ms");
        if (d != null && (d.isZero() || d.isNegative())) {
            problem(key, value(key).orElse(""), "a duration above zero");
        }
        return d;
    }

    private String hostname(Key key) {
        return parse(key, v -> {
            if (!v.matches("[A-Za-z0-9._:\\[\\]-]+")) {
                throw new IllegalArgumentException("not a host name or IP address");
            }
            return v;
        }, "a host name or IP address");
    }

    private static InetAddress ipLiteral(String v) {
        if (!v.matches("[0-9.]+") && !v.contains(":")) {
            throw new IllegalArgumentException("a literal address, not a name, so binding never depends on DNS");
        }
        try {
            return InetAddress.getByName(v);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address");
        }
    }

    private static Boolean bool(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> Boolean.TRUE;
            case "false", "no", "off" -> Boolean.FALSE;
            default -> throw new IllegalArgumentException("not a boolean");
        };
    }

    private static List<Cidr> cidrs(String v) {
        List<Cidr> out = commaList(v).stream().map(Cidr::parse).toList();
        if (out.isEmpty()) {
            throw new IllegalArgumentException("at least one network");
        }
        return out;
    }

    private static List<String> commaList(String v) {
        return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, String v) {
        try {
            return Enum.valueOf(type, v.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(); // the caller's "expected ..." says it all
        }
    }

    /**
     * A {@code TLSRELAY_*} variable that is neither a key's override, a route key's (checked by
     * {@link RouteKeys}), nor one of {@link #OTHER_VARIABLES}.
     */
    private static boolean isUnknownVariable(String variable) {
        return variable.startsWith(ENV_PREFIX) && !variable.startsWith(RouteKeys.ENV_PREFIX)
                && !OTHER_VARIABLES.contains(variable)
                && Arrays.stream(Key.values()).noneMatch(k -> k.environmentVariable().equals(variable));
    }

    /** A "did you mean" hint: the closest of the keys' names, as {@code name} spells them. */
    private static String suggestion(String unknown, Function<Key, String> name) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (Key k : Key.values()) {
            int d = distance(unknown, name.apply(k));
            if (d < bestDistance) {
                bestDistance = d;
                best = name.apply(k);
            }
        }
        return best != null && bestDistance <= 3 ? " (did you mean " + best + "?)" : "";
    }

    /** Edit distance, for "did you mean" hints. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
