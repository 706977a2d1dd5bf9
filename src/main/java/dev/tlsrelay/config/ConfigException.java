package dev.tlsrelay.config;

import java.util.List;

/** The configuration is unusable. Carries every problem found, one line each, so all can be fixed at once. */
public final class ConfigException extends Exception {

    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(String.join("\n", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
