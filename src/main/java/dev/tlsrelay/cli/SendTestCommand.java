package dev.tlsrelay.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.probe.ProbeOutput;
import dev.tlsrelay.probe.SendTest;
import java.io.IOException;
import java.io.PrintWriter;
import java.security.GeneralSecurityException;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tlsrelay send-test}: one test message through the configured upstream, exactly as {@code run} sends. */
@Command(name = "send-test", mixinStandardHelpOptions = true,
        description = {"Send one small test message through the configured upstream with exactly the policy `run`"
                + " uses, print the negotiation (the same facts and verdicts as `probe`) and the upstream's replies,"
                + " and append the handshake and message lines to the audit log like a relayed message.",
            "Exit 0 if the upstream accepted the message, 1 if not, 2 on configuration or usage errors."})
final class SendTestCommand implements Callable<Integer> {

    @Mixin
    ConfigOption config;

    @Option(names = "--to", required = true, paramLabel = "ADDRESS", description = "the recipient")
    String to;

    @Option(names = "--from", paramLabel = "ADDRESS",
            description = "the sender (default: relay.rewrite-from, else upstream.auth.username when it is an"
                    + " address; providers often require the sender to be the account that logs in). As with"
                    + " `run`, relay.rewrite-from replaces it when set.")
    String from;

    @Option(names = "--json", description = "print one JSON object instead of text")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ConsoleLog.toStandardError();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<RelayConfig> loaded = config.load(err);
        if (loaded.isEmpty()) {
            return Main.EXIT_CONFIG;
        }
        RelayConfig cfg = loaded.get();
        String recipient = address("--to", to);
        String sender = from != null ? address("--from", from)
                : cfg.senders().rewriteFrom()
                        .or(() -> cfg.upstream().auth().map(RelayConfig.Credentials::username)
                                .filter(SendTestCommand::isAddress))
                        .orElseThrow(() -> usage("give --from ADDRESS (neither relay.rewrite-from nor"
                                + " upstream.auth.username is an address to send from)"));
        SendTest.Outcome outcome;
        try {
            outcome = SendTest.run(cfg, sender, recipient);
        } catch (IOException e) {
            err.println("tlsrelay send-test: cannot write the audit log " + cfg.audit().file() + ": " + e.getMessage());
            return 1;
        } catch (GeneralSecurityException e) {
            err.println("tlsrelay send-test: cannot use the TLS trust anchors (" + cfg.upstream().tls().trust()
                    + "): " + e.getMessage() + "; check upstream.tls.ca-file");
            return Main.EXIT_CONFIG;
        }
        if (json) {
            out.println(new ObjectMapper().writerWithDefaultPrettyPrinter()
                    .writeValueAsString(ProbeOutput.json(outcome, cfg.audit().file())));
        } else {
            ProbeOutput.text(outcome, cfg.audit().file(), out);
        }
        out.flush();
        return outcome.delivered() ? 0 : 1;
    }

    private String address(String option, String value) {
        if (!isAddress(value)) {
            throw usage(option + " " + value + ": expected an address like name@example.com");
        }
        return value;
    }

    private static boolean isAddress(String s) {
        // Bounded and without line breaks or angle brackets: it goes into an SMTP command.
        return s.length() <= 254 && s.matches("[^\\s<>@]+@[^\\s<>@]+");
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), "tlsrelay send-test: " + message);
    }
}
