package dev.tlsrelay.probe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tlsrelay.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

/** Runs {@code tlsrelay ARGS} in this JVM and keeps what it printed. */
record Cli(int exit, String out, String err) {

    private static final ObjectMapper JSON = new ObjectMapper();

    static Cli run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Cli(exit, out.toString(), err.toString());
    }

    /** The same command with {@code --json}, parsed. */
    static JsonNode json(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--json");
        Cli c = run(all.toArray(String[]::new));
        JsonNode node = JSON.readTree(c.out());
        if (node.path("exit_code").asInt(-1) != c.exit()) {
            throw new AssertionError("exit code " + c.exit() + " but the JSON says " + node.path("exit_code"));
        }
        return node;
    }

    /** The finding with this code, or a failure listing the findings there are. */
    static JsonNode finding(JsonNode report, String code) {
        for (JsonNode f : report.path("findings")) {
            if (f.path("code").asText().equals(code)) {
                return f;
            }
        }
        throw new AssertionError("no finding " + code + " in " + report.path("findings").toPrettyString());
    }

    static boolean hasFinding(JsonNode report, String code) {
        for (JsonNode f : report.path("findings")) {
            if (f.path("code").asText().equals(code)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
    }
}
