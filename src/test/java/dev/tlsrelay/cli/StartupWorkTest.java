package dev.tlsrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a relay's start skips or overlaps, and that nothing else changes because of it. */
class StartupWorkTest {

    private static final Set<String> ALL = Set.of("run", "check-config", "probe", "send-test", "queue", "route",
            "audit", "healthcheck", "passwd", "oauth2", "demo", "catcher", "help");

    @Test
    void aNamedSubcommandIsTheOnlyOneBuilt() {
        assertEquals(Set.of("run"), Main.commandLine("run", "--config", "x.properties").getSubcommands().keySet());
        assertEquals(Set.of("audit"), Main.commandLine("audit", "verify").getSubcommands().keySet());
    }

    @Test
    void anythingElseGetsEverySubcommand() {
        for (List<String> args : List.of(List.<String>of(), List.of("--help"), List.of("help", "run"), List.of("rn"))) {
            assertEquals(ALL, Main.commandLine(args.toArray(String[]::new)).getSubcommands().keySet(), args.toString());
        }
    }

    @Test
    void theUsageStillListsEverySubcommandInOrder() {
        StringWriter out = new StringWriter();
        assertEquals(0, Main.execute(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "--help"));
        String usage = out.toString();
        int at = usage.indexOf("Commands:");
        assertTrue(at > 0, usage);
        int last = at;
        for (String name : List.of("run", "check-config", "probe", "send-test", "queue", "route", "audit",
                "healthcheck", "passwd", "oauth2", "demo", "catcher", "help")) {
            int i = usage.indexOf("  " + name + " ", last);
            assertTrue(i > last, name + " in order in:\n" + usage);
            last = i;
        }
    }

    @Test
    void everyPreloadedClassExists() throws Exception {
        for (String name : Preload.CLASSES) {
            Class.forName(name, false, Preload.class.getClassLoader());
        }
        Preload.run();
    }
}
