package dev.tlsrelay.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.LegacyClient;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.support.TlsRelayProcess;
import dev.tlsrelay.tls.TlsMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The queue command against a relay running as a real process, and against a stopped one. */
@Timeout(120)
class QueueCommandTest {

    @TempDir
    Path dir;

    private static String queueId(String reply) {
        return reply.substring(reply.lastIndexOf(' ') + 1).trim();
    }

    private String run(Path config, int expectedExit, String... args) throws Exception {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--config";
        all[args.length + 1] = config.toString();
        try (TlsRelayProcess p = TlsRelayProcess.start(dir, all)) {
            assertEquals(expectedExit, p.waitFor(Duration.ofSeconds(60)), p.output());
            return p.output();
        }
    }

    @Test
    void listShowDeleteAndRetryOnALiveRelayThenOnAStoppedOne() throws Exception {
        TestPki pki = new TestPki();
        int relayPort = Catchers.unusedPort();
        int upstreamPort = Catchers.unusedPort();
        Path config = dir.resolve("tlsrelay.properties");
        Files.writeString(config, String.join("\n",
                "listen.port = " + relayPort,
                "upstream.host = 127.0.0.1",
                "upstream.port = " + upstreamPort,
                "upstream.tls.ca-file = " + pki.writeCa(dir),
                "upstream.timeout = 5s",
                "delivery.mode = spool",
                "spool.dir = " + dir.resolve("spool"),
                "spool.retry.initial = 1h",
                "spool.retry.max-interval = 1h",
                "audit.file = " + dir.resolve("audit.jsonl"), ""));
        String keep;
        String drop;
        try (TlsRelayProcess relay = TlsRelayProcess.start(dir, "run", "--config", config.toString())) {
            relay.awaitLine(l -> l.contains("listening on 127.0.0.1:" + relayPort), Duration.ofSeconds(60));
            keep = queueId(LegacyClient.send(relayPort, "scanner@office.test", LegacyClient.sampleMessage("keep"),
                    "admin@office.test"));
            drop = queueId(LegacyClient.send(relayPort, "scanner@office.test", LegacyClient.sampleMessage("drop"),
                    "admin@office.test"));
            relay.awaitLine(l -> l.contains("deferred " + drop), Duration.ofSeconds(30));

            String list = run(config, 0, "queue", "list");
            assertTrue(list.contains(keep) && list.contains(drop), list);
            assertTrue(list.contains("2 message(s) queued"), list);
            assertTrue(list.contains("connect_failed"), list);

            String show = run(config, 0, "queue", "show", keep);
            assertTrue(show.contains("sender:       <scanner@office.test>"), show);
            assertTrue(show.contains("recipient:    <admin@office.test> pending"), show);
            assertTrue(show.contains("Subject: keep"), show);

            String delete = run(config, 0, "queue", "delete", drop);
            assertTrue(delete.contains("done by the running relay"), delete);
            assertFalse(run(config, 0, "queue", "list").contains(drop));

            try (Catcher upstream = Catchers.startOn(upstreamPort, dir.resolve("caught"), TlsMode.STARTTLS,
                    pki.good(), Optional.empty())) {
                String retry = run(config, 0, "queue", "retry", keep);
                assertTrue(retry.contains("done by the running relay"), retry);
                assertTrue(upstream.awaitMessages(1, Duration.ofSeconds(20)), "retry delivers now, not in an hour");
                assertTrue(Files.readString(upstream.received().get(0).eml()).contains("Subject: keep"));
                Thread.sleep(300);
                assertEquals(1, upstream.received().size(), "the deleted message is never delivered");
            }
        }
        // Relay stopped: the command works on the spool directly.
        assertTrue(run(config, 0, "queue", "list").contains("the queue is empty"));
        assertTrue(run(config, 1, "queue", "show", keep).contains("no queued message"));
        assertTrue(run(config, 2, "queue", "show", "../../etc/passwd").contains("not a spool id"));
    }
}
