package dev.tlsrelay.probe;

import dev.tlsrelay.probe.ProbeReport.Step;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.tls.ProbedVersion;
import dev.tlsrelay.tls.ServerIdentity;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsNegotiation;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.VerifyMode;
import dev.tlsrelay.tls.VersionProbeResult;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Turns the facts of a probe into verdict lines, each with a severity and one sentence saying what
 * to do. A FAIL is written exactly when the relay would not deliver to the server under the policy
 * probed with, so the exit code and the lines never disagree.
 */
final class Verdicts {

    /** A certificate expiring within this many days gets a warning. */
    static final int EXPIRY_WARNING_DAYS = 30;

    private static final DateTimeFormatter DAY = DateTimeFormatter.ISO_LOCAL_DATE.withZone(ZoneOffset.UTC);

    private final ProbeReport r;
    private final Instant now;
    private final List<Finding> out = new ArrayList<>();

    private Verdicts(ProbeReport facts, Instant now) {
        this.r = facts;
        this.now = now;
    }

    static List<Finding> judge(ProbeReport facts, Instant now) {
        Verdicts v = new Verdicts(facts, now);
        v.connection();
        v.versions();
        v.certificate();
        v.capabilities();
        return List.copyOf(v.out);
    }

    private ProbeRequest req() {
        return r.request();
    }

    private TlsPolicy policy() {
        return req().policy();
    }

    private String detail() {
        return r.negotiation().detail().orElse("");
    }

    /** How far the relay's own connection got, and the TLS it negotiated. */
    private void connection() {
        TlsNegotiation n = r.negotiation();
        if (r.failedAt().isEmpty()) {
            out.add(Finding.ok("tls_ok", "the relay gets " + n.protocol().orElse("TLS") + " with "
                    + n.cipher().orElse("?") + " in " + n.handshake().toMillis() + " ms and a verified certificate"
                    + (req().mode() == TlsMode.STARTTLS ? " (STARTTLS)" : " (implicit TLS)")));
            return;
        }
        Step step = r.failedAt().get();
        FailureCode code = n.failure().orElse(FailureCode.HANDSHAKE_FAILED);
        switch (step) {
            case CONNECT -> out.add(connectFinding(code));
            case GREETING, EHLO, EHLO_AFTER_TLS -> out.add(dialogueFinding(step, code));
            case STARTTLS -> out.add(r.startTls().isEmpty()
                    ? Finding.fail("starttls_not_offered", "STARTTLS not advertised on port " + req().port()
                            + ": this server cannot receive mail from the relay securely",
                            "enable STARTTLS on the server, or probe its implicit TLS port (--security implicit,"
                                    + " usually 465)")
                    : Finding.fail("starttls_refused", "the server advertises STARTTLS but refused it ("
                            + r.startTls().get() + ")",
                            "ask its administrator to fix the server's TLS setup; the relay never falls back to"
                                    + " plaintext"));
            case HANDSHAKE -> handshakeFinding(code);
        }
    }

    private Finding connectFinding(FailureCode code) {
        String d = detail();
        if (d.contains("does not resolve")) {
            return Finding.fail("host_unknown", d, "check the spelling of the host name and this machine's DNS");
        }
        if (code == FailureCode.TIMEOUT) {
            return Finding.fail("connect_timeout", req().target() + " did not accept a connection: " + d,
                    "check the host and port, and any firewall between this machine and the server");
        }
        return Finding.fail("connect_failed", "cannot connect to " + req().target() + ": " + d,
                "check the port (587 for STARTTLS, 465 for implicit TLS) and that the server is running");
    }

    private Finding dialogueFinding(Step step, FailureCode code) {
        String d = detail();
        if (code == FailureCode.TIMEOUT) {
            String fix = step == Step.GREETING && req().mode() == TlsMode.STARTTLS
                    ? "if this port expects TLS at once, probe it with --security implicit; otherwise ask the"
                            + " server's administrator why it holds connections"
                    : "the server or a filter in front of it holds the connection; ask its administrator";
            return Finding.fail("smtp_timeout", "the server stopped answering: " + d, fix);
        }
        if (step == Step.GREETING && r.greeting().isPresent()) {
            return Finding.fail("session_refused", d,
                    "ask the server's administrator to accept connections from this host");
        }
        return Finding.fail("smtp_failed", "the SMTP dialogue failed: " + d,
                "check that " + req().target() + " is an SMTP server and speaks "
                        + (req().mode() == TlsMode.STARTTLS ? "plain SMTP before STARTTLS" : "implicit TLS"));
    }

    private void handshakeFinding(FailureCode code) {
        switch (code) {
            case PROTOCOL_VERSION -> out.add(versionFinding());
            case CERT_EXPIRED, CERT_NOT_YET_VALID, CERT_UNTRUSTED, HOSTNAME_MISMATCH, PIN_MISMATCH -> {
                // Said by certificate(), from the identity checks, with the names and dates involved.
            }
            case TIMEOUT -> out.add(Finding.fail("handshake_timeout", "the TLS handshake did not finish: " + detail(),
                    "check the server's TLS setup (does this port really speak "
                            + (req().mode() == TlsMode.STARTTLS ? "STARTTLS" : "implicit TLS") + "?)"));
            default -> out.add(suiteFinding());
        }
    }

    private Finding versionFinding() {
        List<ProbedVersion> accepted = accepted();
        List<ProbedVersion> relayUsable = accepted.stream()
                .filter(v -> v.offeredByRelay(policy().minVersion())).toList();
        if (!accepted.isEmpty() && relayUsable.isEmpty()) {
            boolean onlyOld = accepted.stream().allMatch(v -> v.relayVersion().isEmpty());
            if (onlyOld) {
                return Finding.fail("protocol_version", "the server accepts only " + names(accepted)
                        + "; the relay needs TLS 1.2 or newer", "enable TLS 1.2 and 1.3 on the server");
            }
            return Finding.fail("protocol_version", "the server does not accept "
                    + policy().minVersion().protocolName() + " or newer, which the policy requires (it accepts "
                    + names(accepted) + ")", "enable TLS 1.3 on the server, or set upstream.tls.min-version = TLSv1.2");
        }
        return Finding.fail("protocol_version", "no TLS version both sides accept: " + detail(),
                "enable TLS 1.2 and 1.3 on the server");
    }

    private Finding suiteFinding() {
        Optional<VersionProbeResult> modern = r.versions().stream()
                .filter(v -> v.accepted() && v.version().offeredByRelay(policy().minVersion()))
                .reduce((a, b) -> b);
        if (modern.isPresent() && modern.get().cipher().isPresent()
                && !policy().cipherSuites().contains(modern.get().cipher().get())) {
            return Finding.fail("cipher_suites", "the TLS handshake failed with the relay's cipher suites ("
                    + detail() + "); offered everything, the server picks " + modern.get().cipher().get(),
                    "enable ECDHE with AES-GCM or ChaCha20-Poly1305 on the server, or add a suite it supports to"
                            + " upstream.tls.cipher-suites");
        }
        return Finding.fail("handshake_failed", "the TLS handshake failed: " + detail(),
                "check the server's TLS setup and its log for this connection");
    }

    /** TLS 1.0 and 1.1: the relay never uses them, but a server that accepts them should not. */
    private void versions() {
        for (VersionProbeResult v : r.versions()) {
            if (v.accepted() && v.version().relayVersion().isEmpty()) {
                out.add(Finding.warn(v.version().name().toLowerCase(java.util.Locale.ROOT) + "_accepted",
                        "server accepts " + v.version().displayName(),
                        "disable it on the server (the relay never uses it, but older clients may)"));
            }
        }
    }

    private void certificate() {
        if (r.identity().isEmpty() || r.chain().isEmpty()) {
            return;
        }
        ServerIdentity id = r.identity().get();
        CertificateDetail leaf = r.chain().get(0);
        boolean full = id.mode() == VerifyMode.FULL;
        String trust = policy().trust().describe();

        ServerIdentity.Check chain = id.chainTrust();
        if (chain.failed()) {
            FailureCode code = chain.failure().orElseThrow();
            Finding f = switch (code) {
                case CERT_EXPIRED -> new Finding(full ? Finding.Severity.FAIL : Finding.Severity.WARN, "cert_expired",
                        "certificate expired " + days(-leaf.daysLeft()) + " ago (" + day(leaf.facts().notAfter()) + ")"
                                + (full ? "" : "; pin mode does not check dates"),
                        Optional.of("renew it on the server"));
                case CERT_NOT_YET_VALID -> new Finding(full ? Finding.Severity.FAIL : Finding.Severity.WARN,
                        "cert_not_yet_valid", "certificate is not valid until " + day(leaf.facts().notBefore()),
                        Optional.of("check the server's clock and certificate"));
                default -> untrusted(id, leaf, trust, full);
            };
            out.add(f);
        } else if (full) {
            out.add(Finding.ok("chain_trusted", "certificate chain leads to a CA in " + trust));
        }

        ServerIdentity.Check name = id.hostName();
        if (name.failed() && full) {
            out.add(Finding.fail("hostname_mismatch", "certificate name does not match " + req().host(),
                    req().mxOf().isPresent()
                            ? "give the server a certificate that names " + req().host() + ", the name in the MX"
                                    + " record of " + req().mxOf().get() + " (it names " + namesOn(leaf) + ")"
                            : "use the host name the certificate was issued for (" + namesOn(leaf) + ")"));
        } else if (name.passed() && full) {
            out.add(Finding.ok("hostname_ok", "certificate names " + req().host()));
        }

        ServerIdentity.Check pin = id.pin();
        if (pin.failed()) {
            out.add(Finding.fail("pin_mismatch", "no certificate in the chain has a pinned key (the server's key is"
                    + " sha256/" + leaf.facts().spkiSha256() + ")",
                    "if the server's key changed on purpose, pin the new one (--pin-sha256 / upstream.tls.pin-sha256)"));
        } else if (pin.passed()) {
            out.add(Finding.ok("pin_ok", pin.detail() + (full ? "" : "; in pin mode the pin alone identifies the"
                    + " server (chain and name are not checked)")));
        }

        if (leaf.daysLeft() >= 0 && leaf.daysLeft() <= EXPIRY_WARNING_DAYS && !chain.failed()) {
            out.add(Finding.warn("cert_expires_soon", "certificate expires in " + days(leaf.daysLeft()) + " ("
                    + day(leaf.facts().notAfter()) + ")", "renew it"));
        }
        if ("RSA".equals(leaf.keyType()) && leaf.keyBits() > 0 && leaf.keyBits() < 2048) {
            out.add(Finding.warn("weak_key", "the certificate's RSA key has only " + leaf.keyBits() + " bits",
                    "replace it with a key of 2048 bits or more"));
        }
        String sig = leaf.signatureAlgorithm().toUpperCase(java.util.Locale.ROOT);
        if (sig.contains("SHA1") || sig.contains("MD5")) {
            out.add(Finding.warn("weak_signature", "the certificate is signed with " + leaf.signatureAlgorithm(),
                    "reissue it signed with SHA-256 or better"));
        }
    }

    private Finding untrusted(ServerIdentity id, CertificateDetail leaf, String trust, boolean full) {
        boolean selfSigned = leaf.selfIssued() && id.certificates().size() == 1;
        String message = selfSigned
                ? "certificate is self-signed, not issued by a CA in " + trust
                : "certificate is not issued by a CA in " + trust + " (issuer " + leaf.facts().issuer() + ")";
        if (!full) {
            return Finding.ok("chain_not_checked", message + "; not needed in pin mode");
        }
        String fix = selfSigned
                ? "install a certificate from a CA the relay trusts, or pin this one: --verify pin --pin-sha256 "
                        + leaf.facts().spkiSha256() + " (upstream.tls.verify = pin)"
                : "give the relay the issuing CA with --ca-file (upstream.tls.ca-file), or make the server send"
                        + " its intermediate certificates";
        return Finding.fail("cert_untrusted", message, fix);
    }

    private void capabilities() {
        Optional<Capabilities> before = r.beforeTls();
        if (before.isPresent() && !before.get().authMechanisms().isEmpty()) {
            out.add(Finding.warn("auth_before_tls", "server offers AUTH " + String.join(" ",
                    before.get().authMechanisms()) + " before TLS, so passwords can cross the network in plaintext",
                    "disable AUTH on unencrypted connections (the relay itself only logs in after TLS)"));
        }
        if (req().expectAuth() && r.afterTls().isPresent() && r.afterTls().get().authMechanisms().isEmpty()) {
            out.add(Finding.warn("no_auth_after_tls", "server offers no AUTH after TLS",
                    "if the relay must log in (upstream.auth.username), use the server's submission port"
                            + " (587 or 465), where AUTH is offered"));
        }
    }

    private List<ProbedVersion> accepted() {
        return r.versions().stream().filter(VersionProbeResult::accepted).map(VersionProbeResult::version).toList();
    }

    private static String names(List<ProbedVersion> versions) {
        return versions.stream().map(ProbedVersion::displayName).collect(Collectors.joining(", "));
    }

    private static String namesOn(CertificateDetail leaf) {
        List<String> names = leaf.facts().subjectAltNames().stream()
                .map(n -> n.replaceFirst("^(DNS|IP):", "")).toList();
        return names.isEmpty() ? "it names no host: its subject is " + leaf.facts().subject()
                : String.join(", ", names);
    }

    static String days(long n) {
        return n == 1 ? "1 day" : n + " days";
    }

    private static String day(Instant t) {
        return DAY.format(t);
    }
}
