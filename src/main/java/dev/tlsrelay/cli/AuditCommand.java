package dev.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tlsrelay.audit.AuditKey;
import dev.tlsrelay.audit.AuditSearch;
import dev.tlsrelay.audit.AuditSummary;
import dev.tlsrelay.audit.ChainVerifier;
import dev.tlsrelay.audit.HtmlReport;
import dev.tlsrelay.audit.Summary;
import dev.tlsrelay.audit.SummaryText;
import dev.tlsrelay.audit.TimeWindow;
import dev.tlsrelay.audit.Verification;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tlsrelay audit}: review the audit log: verify its chain, summarise, search, report. */
@Command(name = "audit", mixinStandardHelpOptions = true,
        description = "Review the audit log: verify its hash chain, summarise it, search it, or write an HTML report.",
        subcommands = {AuditCommand.Verify.class, AuditCommand.SummaryCommand.class, AuditCommand.Search.class,
                AuditCommand.Report.class, CommandLine.HelpCommand.class})
final class AuditCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return Main.EXIT_CONFIG;
    }

    /** Something that reads audit files. */
    @FunctionalInterface
    interface Review {
        int run() throws IOException;
    }

    /** Runs a review; a file that cannot be read is reported in one line, exit 2, not as a stack trace. */
    static int reading(CommandSpec spec, Review review) {
        try {
            return review.run();
        } catch (IOException e) {
            spec.commandLine().getErr().println("tlsrelay audit: cannot read the audit files: " + e.getMessage());
            spec.commandLine().getErr().flush();
            return Main.EXIT_CONFIG;
        }
    }

    /** {@code --since} and {@code --until}. */
    static final class Window {
        @Option(names = "--since", paramLabel = "WHEN",
                description = "only events at or after WHEN: a duration back from now (90d, 24h), a date"
                        + " (2026-11-01, midnight UTC) or an instant (2026-11-01T08:00:00Z)")
        String since;

        @Option(names = "--until", paramLabel = "WHEN", description = "only events before WHEN (same forms)")
        String until;

        TimeWindow window(CommandSpec spec, Instant now) {
            try {
                return new TimeWindow(Optional.ofNullable(since).map(s -> TimeArgument.parse(s, now)),
                        Optional.ofNullable(until).map(u -> TimeArgument.parse(u, now)));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check the hash chain over the audit files in order. Prints the first broken line with its"
                    + " file, line number and what is wrong. Exit 0 intact, 1 broken, 2 usage error.")
    static final class Verify implements Callable<Integer> {
        @Mixin
        AuditSource source;

        @Mixin
        AuditSource.ChainKey chainKey;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            return reading(spec, this::review);
        }

        private int review() throws IOException {
            AuditSource.Resolved r = source.resolve(spec);
            Optional<AuditKey> key = chainKey.key(spec, r);
            PrintWriter out = spec.commandLine().getOut();
            Verification v = ChainVerifier.verify(r.files(), key);
            out.printf("tlsrelay audit verify: %d file(s), %s chain%s%n", r.files().size(), v.algorithm(),
                    key.map(k -> " (key id " + k.id() + ")").orElse(""));
            r.files().forEach(f -> out.println("  " + f));
            v.notes().forEach(n -> out.println("note: " + n));
            out.println(v.intact() ? "OK: chain " + v.verdict() : "BROKEN: " + v.problem().orElseThrow());
            out.flush();
            return v.intact() ? 0 : 1;
        }
    }

    @Command(name = "summary", mixinStandardHelpOptions = true,
            description = "Count handshakes (by direction, outcome, version, cipher), failures (by code and peer),"
                    + " messages (relayed, deferred, failed, by client), upstream certificates and their expiry, and"
                    + " state how many messages left without verified TLS 1.2+. Exit 1 when that number is not 0 or"
                    + " the chain is broken.")
    static final class SummaryCommand implements Callable<Integer> {
        @Mixin
        AuditSource source;

        @Mixin
        AuditSource.ChainKey chainKey;

        @Mixin
        Window window;

        @Option(names = "--json", description = "print JSON instead of text")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            return reading(spec, this::review);
        }

        private int review() throws IOException {
            Reviewed reviewed = Reviewed.of(spec, source, chainKey, window);
            Verification v = reviewed.verification();
            Summary s = reviewed.summary();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(SummaryText.json(s, v)));
            } else {
                out.print(SummaryText.text(s, v));
            }
            out.flush();
            return v.intact() && s.relayedWithoutTls() == 0 ? 0 : 1;
        }
    }

    @Command(name = "search", mixinStandardHelpOptions = true,
            description = "Print the audit lines that match every filter given, one per line. Exit 0 when something"
                    + " matched, 1 when nothing did.")
    static final class Search implements Callable<Integer> {
        @Mixin
        AuditSource source;

        @Mixin
        Window window;

        @Option(names = "--session", paramLabel = "ID", description = "the client session id")
        String session;

        @Option(names = "--client", paramLabel = "IP", description = "the device's address (message lines)")
        String client;

        @Option(names = "--sender", paramLabel = "ADDR",
                description = "envelope sender, any case; in a redacted log the address is hashed with the"
                        + " redaction key and matched against the hashes")
        String sender;

        @Option(names = "--recipient", paramLabel = "ADDR", description = "envelope recipient, like --sender")
        String recipient;

        @Option(names = "--failure", paramLabel = "CODE", description = "failure code, e.g. hostname_mismatch")
        String failure;

        @Option(names = "--event", paramLabel = "NAME",
                description = "event name (tls.handshake, message.failed) or family (message, audit)")
        String event;

        @Option(names = "--redaction-key-file", paramLabel = "FILE",
                description = "the audit.redaction-key-file, to find addresses in a redacted log (default: from"
                        + " --config, if read)")
        Path redactionKeyFile;

        @Option(names = "--json", description = "print the matching lines exactly as written")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            return reading(spec, this::review);
        }

        private int review() throws IOException {
            AuditSource.Resolved r = source.resolve(spec);
            Optional<AuditKey> redactionKey = redactionKeyFile != null
                    ? Optional.of(AuditSource.readKey(spec, redactionKeyFile, "--redaction-key-file"))
                    : r.config().flatMap(c -> c.audit().redactionKey());
            AuditSearch.Query q = new AuditSearch.Query(Optional.ofNullable(session), Optional.ofNullable(client),
                    Optional.ofNullable(sender), Optional.ofNullable(recipient), Optional.ofNullable(failure),
                    Optional.ofNullable(event), window.window(spec, Instant.now()));
            PrintWriter out = spec.commandLine().getOut();
            AuditSearch.Result result = AuditSearch.search(r.files(), q, redactionKey,
                    rec -> out.println(json ? rec.raw() : rec.describe()));
            out.flush();
            if (result.redactedWithoutKey()) {
                spec.commandLine().getErr().println("tlsrelay audit search: these files hold redacted addresses;"
                        + " pass --redaction-key-file (the relay's audit.redaction-key-file) to search them");
                spec.commandLine().getErr().flush();
            }
            return result.matched() > 0 ? 0 : 1;
        }
    }

    @Command(name = "report", mixinStandardHelpOptions = true,
            description = "Write one self-contained HTML page (inline SVG charts, no script, nothing loaded from"
                    + " anywhere): chain verdict, handshakes per hour by outcome, TLS versions over time, failures by"
                    + " code, top clients, certificate expiry.")
    static final class Report implements Callable<Integer> {
        @Mixin
        AuditSource source;

        @Mixin
        AuditSource.ChainKey chainKey;

        @Mixin
        Window window;

        @Option(names = "--html", paramLabel = "FILE", required = true, description = "where to write the page")
        Path html;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            return reading(spec, this::review);
        }

        private int review() throws IOException {
            Reviewed reviewed = Reviewed.of(spec, source, chainKey, window);
            Verification v = reviewed.verification();
            Summary s = reviewed.summary();
            Path parent = html.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(html, HtmlReport.render(s, v, reviewed.files()), StandardCharsets.UTF_8);
            PrintWriter out = spec.commandLine().getOut();
            out.println("report written to " + html + " (chain " + v.verdict() + "; "
                    + s.relayedWithoutTls() + " message(s) relayed without verified TLS 1.2+)");
            out.flush();
            return 0;
        }
    }

    /** What summary and report both start from: the chain verified and the window counted. */
    private record Reviewed(List<Path> files, Verification verification, Summary summary) {
        static Reviewed of(CommandSpec spec, AuditSource source, AuditSource.ChainKey chainKey, Window window)
                throws IOException {
            AuditSource.Resolved r = source.resolve(spec);
            Instant now = Instant.now();
            TimeWindow w = window.window(spec, now);
            return new Reviewed(r.files(), ChainVerifier.verify(r.files(), chainKey.key(spec, r)),
                    AuditSummary.summarize(r.files(), w, now));
        }
    }
}
