package dev.tlsrelay.cli;

import dev.tlsrelay.config.RelayConfig;
import dev.tlsrelay.spool.QueuedMessage;
import dev.tlsrelay.spool.Spool;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code tlsrelay queue}: look at and act on the spool, whether the relay runs or not. */
@Command(name = "queue", mixinStandardHelpOptions = true,
        description = "Inspect and manage the spool (delivery.mode = spool). Works while the relay runs (it acts"
                + " on requests within a second) and while it is stopped.",
        subcommands = {QueueCommand.ListCommand.class, QueueCommand.ShowCommand.class, QueueCommand.RetryCommand.class,
                QueueCommand.DeleteCommand.class})
final class QueueCommand {

    /** How long to wait for a running relay to take a request before saying it is still pending. */
    private static final Duration REQUEST_WAIT = Duration.ofSeconds(5);

    /** Common: the config (for spool.dir) and output. */
    abstract static class Base implements Callable<Integer> {
        @Mixin
        ConfigOption config;

        @Spec
        CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        PrintWriter err() {
            return spec.commandLine().getErr();
        }

        @Override
        public Integer call() throws Exception {
            Optional<RelayConfig> cfg = config.load(err());
            if (cfg.isEmpty()) {
                return Main.EXIT_CONFIG;
            }
            Path dir = cfg.get().spool().dir();
            if (!Files.isDirectory(dir.resolve("queue"))) {
                err().println("tlsrelay queue: " + dir + " holds no spool yet (spool.dir); it is created when the"
                        + " relay first runs with delivery.mode = spool");
                return 1;
            }
            int rc = run(dir);
            out().flush();
            err().flush();
            return rc;
        }

        abstract int run(Path spoolDir) throws IOException, InterruptedException;

        /** Does the request directly when no relay owns the spool, else hands it to the running relay. */
        int act(Path dir, Spool.Request request, String what) throws IOException, InterruptedException {
            Optional<Spool> owned = Spool.tryOpen(dir);
            if (owned.isPresent()) {
                try (Spool spool = owned.get()) {
                    List<String> ids = request.id().map(List::of)
                            .orElseGet(() -> listIds(spool));
                    int done = 0;
                    for (String id : ids) {
                        Optional<QueuedMessage> m = spool.load(id);
                        if (m.isEmpty()) {
                            err().println("tlsrelay queue: no queued message " + id);
                            continue;
                        }
                        if (request.kind() == Spool.RequestKind.RETRY) {
                            spool.update(m.get().dueNow(Instant.now()));
                        } else {
                            spool.remove(id);
                        }
                        done++;
                    }
                    out().println(what + ": " + done + " message(s)"
                            + (request.kind() == Spool.RequestKind.RETRY
                                    ? " (the relay is not running: they are delivered as soon as it starts)" : ""));
                    return done == ids.size() ? 0 : 1;
                }
            }
            Spool view = Spool.inspect(dir);
            if (request.id().isPresent() && view.load(request.id().get()).isEmpty()) {
                err().println("tlsrelay queue: no queued message " + request.id().get());
                return 1;
            }
            Path file = view.submit(request);
            long deadline = System.nanoTime() + REQUEST_WAIT.toNanos();
            while (Files.exists(file) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            if (Files.exists(file)) {
                out().println(what + ": requested; the running relay has not taken the request yet (it will)");
            } else {
                out().println(what + ": done by the running relay");
            }
            return 0;
        }

        private static List<String> listIds(Spool spool) {
            try {
                return spool.list().stream().map(QueuedMessage::id).toList();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List queued messages, oldest first.")
    static final class ListCommand extends Base {
        @Override
        int run(Path dir) throws IOException {
            List<QueuedMessage> all = Spool.inspect(dir).list();
            if (all.isEmpty()) {
                out().println("the queue is empty (" + dir + ")");
                return 0;
            }
            out().printf("%-26s %-8s %-30s %-8s %s%n", "ID", "AGE", "SENDER", "ATTEMPTS", "RECIPIENTS / LAST ERROR");
            Instant now = Instant.now();
            for (QueuedMessage m : all) {
                out().printf("%-26s %-8s %-30s %-8d %s%n", m.id(), age(m.age(now)), "<" + m.sender() + ">",
                        m.attempts(), String.join(", ", m.pendingAddresses()));
                m.lastError().ifPresent(e -> out().printf("%-26s %s%n", "", "last error: " + e));
            }
            out().println(all.size() + " message(s) queued");
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one queued message.")
    static final class ShowCommand extends Base {
        @Parameters(paramLabel = "ID", description = "queue id (from queue list)")
        String id;

        @Override
        int run(Path dir) throws IOException {
            Spool spool = Spool.inspect(dir);
            Optional<QueuedMessage> found;
            try {
                found = spool.load(id);
            } catch (IllegalArgumentException e) {
                err().println("tlsrelay queue show: " + e.getMessage());
                return Main.EXIT_CONFIG;
            }
            if (found.isEmpty()) {
                err().println("tlsrelay queue show: no queued message " + id + " (delivered, deleted or never queued)");
                return 1;
            }
            QueuedMessage m = found.get();
            PrintWriter o = out();
            o.println("id:           " + m.id());
            o.println("session:      " + m.sessionId() + " (client " + m.clientAddress() + ")");
            o.println("received:     " + m.receivedAt() + " (" + age(m.age(Instant.now())) + " ago)");
            o.println("sender:       <" + m.sender() + ">");
            for (QueuedMessage.Recipient r : m.recipients()) {
                o.println("recipient:    <" + r.address() + "> " + r.state().name().toLowerCase(java.util.Locale.ROOT)
                        + r.reply().map(x -> " (" + x + ")").orElse(""));
            }
            o.println("size:         " + m.size() + " bytes");
            o.println("attempts:     " + m.attempts());
            o.println("next attempt: " + m.nextAttempt());
            m.lastError().ifPresent(e -> o.println("last error:   " + e));
            m.lastFailure().ifPresent(f -> o.println("TLS failure:  " + f));
            o.println("headers:");
            try (BufferedReader r = new BufferedReader(new InputStreamReader(spool.openBody(id),
                    StandardCharsets.UTF_8))) {
                String line;
                int n = 0;
                while ((line = r.readLine()) != null && !line.isEmpty() && n++ < 40) {
                    o.println("  " + line);
                }
            }
            return 0;
        }
    }

    /** Which messages: one id, or all. */
    static final class Target {
        @Parameters(paramLabel = "ID", description = "queue id (from queue list)")
        String id;

        @Option(names = "--all", description = "every queued message")
        boolean all;

        Spool.Request request(Spool.RequestKind kind) {
            return new Spool.Request(kind, all ? Optional.empty() : Optional.of(id));
        }
    }

    @Command(name = "retry", mixinStandardHelpOptions = true, description = "Deliver now instead of at the next"
            + " scheduled attempt.")
    static final class RetryCommand extends Base {
        @ArgGroup(multiplicity = "1")
        Target target;

        @Override
        int run(Path dir) throws IOException, InterruptedException {
            return act(dir, target.request(Spool.RequestKind.RETRY), "retry");
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Remove a message without delivering"
            + " it.")
    static final class DeleteCommand extends Base {
        @Parameters(paramLabel = "ID", description = "queue id (from queue list)")
        String id;

        @Override
        int run(Path dir) throws IOException, InterruptedException {
            return act(dir, new Spool.Request(Spool.RequestKind.DELETE, Optional.of(id)), "delete " + id);
        }
    }

    static String age(Duration d) {
        if (d.toDays() > 0) {
            return d.toDays() + "d" + d.toHoursPart() + "h";
        }
        if (d.toHours() > 0) {
            return d.toHours() + "h" + d.toMinutesPart() + "m";
        }
        if (d.toMinutes() > 0) {
            return d.toMinutes() + "m" + d.toSecondsPart() + "s";
        }
        return d.toSeconds() + "s";
    }
}
