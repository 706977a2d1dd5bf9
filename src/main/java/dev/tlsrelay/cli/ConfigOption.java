package dev.tlsrelay.cli;

import dev.tlsrelay.config.ConfigException;
import dev.tlsrelay.config.ConfigLoader;
import dev.tlsrelay.config.RelayConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** The {@code --config FILE} option shared by the commands that read the configuration. */
final class ConfigOption {

    @Option(names = "--config", paramLabel = "FILE", defaultValue = "conf/tlsrelay.properties",
            description = "configuration file (default: ${DEFAULT-VALUE}); TLSRELAY_* environment variables override it")
    Path file;

    /** Loads and validates; on failure prints every problem to {@code err} and returns empty. */
    Optional<RelayConfig> load(PrintWriter err) {
        try {
            return Optional.of(ConfigLoader.load(file, System.getenv()));
        } catch (ConfigException e) {
            err.println("tlsrelay: the configuration in " + file + " is not usable:");
            e.problems().forEach(p -> err.println("  - " + p));
            err.flush();
            return Optional.empty();
        }
    }
}
