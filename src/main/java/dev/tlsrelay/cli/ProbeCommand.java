package dev.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.probe.DomainProbe;
import dev.tlsrelay.probe.DomainReport;
import dev.tlsrelay.probe.ProbeOutput;
import dev.tlsrelay.probe.ProbeReport;
import dev.tlsrelay.probe.ProbeRequest;
import dev.tlsrelay.probe.ServerProbe;
import dev.tlsrelay.tls.SpkiPin;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.TlsVersion;
import dev.tlsrelay.tls.TrustSource;
import dev.tlsrelay.tls.VerifyMode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tlsrelay probe}: what an SMTP server offers over TLS, and whether the relay will work with it. */
@Command(name = "probe", mixinStandardHelpOptions = true,
        description = {"Check an SMTP server's TLS the way the relay will use it: capabilities before and after"
                + " TLS, each TLS version from 1.0 to 1.3, the certificate chain, verification, and one verdict"
                + " line per finding with the fix.",
            "With --domain, check a mail domain instead: its MX hosts (each on port 25 with STARTTLS), its"
                + " MTA-STS policy and its TLS-RPT record.",
            "Exit 0 if the relay's policy works with the server (every MX host for --domain), 1 if not, 2 on"
                + " usage errors."})
final class ProbeCommand implements Callable<Integer> {

    @Parameters(arity = "0..1", paramLabel = "HOST[:PORT]",
            description = "the server, e.g. smtp.office365.com or smtp.office365.com:587 or [2001:db8::25]:587")
    String target;

    @Option(names = "--domain", paramLabel = "DOMAIN",
            description = "probe a mail domain: MX hosts on port 25, MTA-STS and TLS-RPT")
    String domain;

    @Option(names = "--security", defaultValue = "auto", paramLabel = "MODE",
            description = "starttls, implicit or auto (default: implicit on port 465, STARTTLS otherwise;"
                    + " without a port, 587 with STARTTLS)")
    String security;

    @Option(names = "--ca-file", paramLabel = "PEM",
            description = "trust only the CA certificates of this PEM file (as upstream.tls.ca-file), not the JDK's")
    Path caFile;

    @Option(names = "--pin-sha256", paramLabel = "PIN",
            description = "an SPKI SHA-256 pin, base64 or sha256/base64 (as upstream.tls.pin-sha256); repeatable")
    List<String> pins = new ArrayList<>();

    @Option(names = "--verify", defaultValue = "full", paramLabel = "MODE",
            description = "full (default: chain, host name, and pins if given) or pin (the pin alone), as"
                    + " upstream.tls.verify")
    String verify;

    @Option(names = "--min-version", defaultValue = "TLSv1.2", paramLabel = "VERSION",
            description = "the relay's oldest TLS version: TLSv1.2 (default) or TLSv1.3, as upstream.tls.min-version")
    String minVersion;

    @Option(names = "--timeout", defaultValue = "10", paramLabel = "SECONDS",
            description = "bound on connecting and on each reply or handshake step (default ${DEFAULT-VALUE} s)")
    int timeoutSeconds;

    @Option(names = "--helo", defaultValue = "tlsrelay.localhost", paramLabel = "NAME",
            description = "the name given in EHLO (default ${DEFAULT-VALUE})")
    String helo;

    @Option(names = "--dns-server", paramLabel = "HOST[:PORT]",
            description = "with --domain: ask this DNS server instead of the system's resolvers (like dig @server)")
    String dnsServer;

    @Option(names = "--json", description = "print one JSON object instead of text")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ConsoleLog.toStandardError();
        PrintWriter out = spec.commandLine().getOut();
        if (dnsServer != null && domain == null) {
            throw usage("--dns-server goes with --domain");
        }
        if ((target == null) == (domain == null)) {
            throw usage("give either HOST[:PORT] or --domain DOMAIN");
        }
        if (timeoutSeconds < 1 || timeoutSeconds > 300) {
            throw usage("--timeout " + timeoutSeconds + ": give 1 to 300 seconds");
        }
        if (!helo.matches("[A-Za-z0-9.\\-\\[\\]:]{1,255}")) {
            throw usage("--helo " + helo + ": give a host name");
        }
        TlsPolicy policy = policy();
        try {
            if (domain != null) {
                if (!"auto".equalsIgnoreCase(security) && !"starttls".equalsIgnoreCase(security)) {
                    throw usage("--domain probes MX hosts on port 25 with STARTTLS; --security does not apply");
                }
                if (!DomainProbe.isValidDomain(domain)) {
                    throw usage("--domain " + domain + ": not a domain name");
                }
                DomainProbe probe = dnsServer == null ? DomainProbe.withSystemDns(policy, helo)
                        : DomainProbe.withDnsServer(policy, helo, dnsServer());
                DomainReport report = probe.probe(domain);
                if (json) {
                    out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(
                            ProbeOutput.json(report)));
                    out.flush();
                } else {
                    ProbeOutput.text(report, out);
                }
                return report.exitCode();
            }
            ProbeRequest request = request(policy);
            ProbeReport report = new ServerProbe(request).run();
            if (json) {
                out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(
                        ProbeOutput.json(report)));
                out.flush();
            } else {
                ProbeOutput.text(report, out);
            }
            return report.exitCode();
        } catch (GeneralSecurityException e) {
            spec.commandLine().getErr().println("tlsrelay probe: cannot use the trust anchors (" + policy.trust()
                    + "): " + e.getMessage());
            return Main.EXIT_CONFIG;
        }
    }

    private InetSocketAddress dnsServer() {
        String host = dnsServer;
        int port = 53;
        int colon = dnsServer.lastIndexOf(':');
        if (colon > 0 && dnsServer.indexOf(':') == colon) {
            host = dnsServer.substring(0, colon);
            port = parsePort(dnsServer.substring(colon + 1));
        } else if (dnsServer.startsWith("[") && dnsServer.contains("]:")) {
            host = dnsServer.substring(1, dnsServer.indexOf(']'));
            port = parsePort(dnsServer.substring(dnsServer.indexOf("]:") + 2));
        }
        InetSocketAddress a = new InetSocketAddress(host.replace("[", "").replace("]", ""), port);
        if (a.isUnresolved()) {
            throw usage("--dns-server " + dnsServer + ": " + host + " does not resolve");
        }
        return a;
    }

    private ProbeRequest request(TlsPolicy policy) {
        String host = target;
        Optional<Integer> port = Optional.empty();
        if (target.startsWith("[")) {
            int close = target.indexOf(']');
            if (close < 0) {
                throw usage(target + ": an IPv6 address needs a closing ]");
            }
            host = target.substring(1, close);
            String rest = target.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw usage(target + ": expected [ADDRESS]:PORT");
                }
                port = Optional.of(parsePort(rest.substring(1)));
            }
        } else if (target.indexOf(':') >= 0 && target.indexOf(':') == target.lastIndexOf(':')) {
            host = target.substring(0, target.indexOf(':'));
            port = Optional.of(parsePort(target.substring(target.indexOf(':') + 1)));
        }
        if (host.isBlank()) {
            throw usage(target + ": the host is missing");
        }
        TlsMode mode;
        String reason;
        switch (security.toLowerCase(Locale.ROOT)) {
            case "starttls" -> {
                mode = TlsMode.STARTTLS;
                reason = "as given";
            }
            case "implicit" -> {
                mode = TlsMode.IMPLICIT;
                reason = "as given";
            }
            case "auto" -> {
                mode = port.isPresent() && port.get() == 465 ? TlsMode.IMPLICIT : TlsMode.STARTTLS;
                reason = port.isEmpty() ? "auto: no port given, so 587 with STARTTLS"
                        : mode == TlsMode.IMPLICIT ? "auto: port 465 is implicit TLS"
                        : "auto: port " + port.get() + " is STARTTLS (use --security implicit if it is not)";
            }
            default -> throw usage("--security " + security + ": use starttls, implicit or auto");
        }
        int p = port.orElse(mode.defaultPort());
        return new ProbeRequest(host, p, mode, reason, policy, Optional.empty(), helo, p != 25, Optional.empty());
    }

    private TlsPolicy policy() {
        TlsVersion min = TlsVersion.fromProtocolName(minVersion)
                .orElseThrow(() -> usage("--min-version " + minVersion + ": use TLSv1.2 or TLSv1.3"));
        VerifyMode mode = switch (verify.toLowerCase(Locale.ROOT)) {
            case "full" -> VerifyMode.FULL;
            case "pin" -> VerifyMode.PIN;
            default -> throw usage("--verify " + verify + ": use full or pin");
        };
        Set<SpkiPin> parsed = new LinkedHashSet<>();
        for (String p : pins) {
            try {
                parsed.add(SpkiPin.parse(p));
            } catch (IllegalArgumentException e) {
                throw usage("--pin-sha256 " + p + ": " + e.getMessage());
            }
        }
        if (mode == VerifyMode.PIN && parsed.isEmpty()) {
            throw usage("--verify pin needs at least one --pin-sha256");
        }
        TrustSource trust;
        if (caFile == null) {
            trust = TrustSource.jdkDefault();
        } else {
            try {
                trust = TrustSource.fromPemFile(caFile);
            } catch (IOException e) {
                throw usage("--ca-file " + caFile + ": " + e.getMessage());
            }
        }
        return new TlsPolicy(min, TlsPolicy.MODERN_CIPHER_SUITES, mode, trust, parsed,
                Duration.ofSeconds(timeoutSeconds));
    }

    private int parsePort(String text) {
        try {
            int p = Integer.parseInt(text);
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw usage("port " + text + ": give a number from 1 to 65535");
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), "tlsrelay probe: " + message);
    }
}
