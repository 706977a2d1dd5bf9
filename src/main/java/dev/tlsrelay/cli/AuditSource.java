package dev.tlsrelay.cli;

import dev.tlsrelay.audit.AuditFiles;
import dev.tlsrelay.audit.AuditKey;
import dev.tlsrelay.config.ConfigException;
import dev.tlsrelay.config.ConfigLoader;
import dev.tlsrelay.config.RelayConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;

/** Which audit files a review reads, and the keys to read them with: from the command line or the config. */
final class AuditSource {

    static final Path DEFAULT_CONFIG = Path.of("conf/tlsrelay.properties");

    @Parameters(arity = "0..*", paramLabel = "FILE",
            description = "audit files, oldest first: the rotated files, then the active one (a glob such as"
                    + " logs/tlsrelay-audit*.jsonl lists them in that order). Default: audit.file of --config and"
                    + " its rotated files.")
    List<Path> files = new ArrayList<>();

    @Option(names = "--config", paramLabel = "FILE",
            description = "relay configuration to take audit.file and the keys from (default, when no FILE is"
                    + " given: " + "conf/tlsrelay.properties)")
    Path config;

    /** What was resolved; {@code config} is present when a configuration was read. */
    record Resolved(List<Path> files, Optional<RelayConfig> config) {}

    /** {@code --hmac-key-file}, for the commands that check the chain. */
    static final class ChainKey {
        @Option(names = "--hmac-key-file", paramLabel = "FILE",
                description = "the audit.hmac-key-file the relay wrote with (default: from --config, if read)")
        Path file;

        Optional<AuditKey> key(CommandSpec spec, Resolved source) {
            return file != null ? Optional.of(readKey(spec, file, "--hmac-key-file"))
                    : source.config().flatMap(c -> c.audit().hmacKey());
        }
    }

    /**
     * Resolves the files, reading the configuration when no file is given or {@code --config} is.
     *
     * @throws ParameterException with a message that names the fix, on any problem (exit 2)
     */
    Resolved resolve(CommandSpec spec) {
        Optional<RelayConfig> cfg = Optional.empty();
        if (config != null || files.isEmpty()) {
            Path c = config != null ? config : DEFAULT_CONFIG;
            try {
                cfg = Optional.of(ConfigLoader.load(c, System.getenv()));
            } catch (ConfigException e) {
                throw new ParameterException(spec.commandLine(), "the configuration in " + c + " is not usable"
                        + (files.isEmpty() ? " (it is read because no audit FILE was given)" : "") + ":\n  - "
                        + String.join("\n  - ", e.problems()));
            }
        }
        for (Path f : files) {
            if (!Files.isRegularFile(f) || !Files.isReadable(f)) {
                throw new ParameterException(spec.commandLine(), "audit file " + f + " does not exist or is not a"
                        + " readable file");
            }
        }
        List<Path> chosen = files;
        if (chosen.isEmpty()) {
            Path active = cfg.orElseThrow().audit().file();
            try {
                chosen = AuditFiles.discover(active);
            } catch (IOException e) {
                throw new ParameterException(spec.commandLine(), "cannot list the audit files next to " + active
                        + ": " + e.getMessage());
            }
            if (chosen.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "no audit files at " + active + " (audit.file of "
                        + (config != null ? config : DEFAULT_CONFIG) + "): give the files as arguments");
            }
        }
        return new Resolved(chosen, cfg);
    }

    static AuditKey readKey(CommandSpec spec, Path file, String option) {
        try {
            return AuditKey.read(file);
        } catch (IOException | IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), option + " " + file + ": expected a readable file whose"
                    + " first line is a base64 key of at least " + AuditKey.MIN_BYTES + " bytes (" + e.getMessage()
                    + ")");
        }
    }
}
