package dev.tlsrelay.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.tlsrelay.catcher.CaughtMessage;
import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.support.Catchers;
import dev.tlsrelay.support.RelayFixture;
import dev.tlsrelay.support.TestPki;
import dev.tlsrelay.tls.TlsMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Fuzzes the inbound SMTP session, command parser and DATA reader, through a real relay in
 * pass-through mode whose upstream is a real TLS {@link Catcher}. Each input is the bytes one
 * client writes on one fresh connection (pipelined: commands, then whatever DATA or BDAT bodies
 * follow), after which the client closes its sending side and reads until the relay hangs up.
 *
 * <p>The oracle, per input:
 * <ul>
 *   <li>the relay answers with a {@code 220} greeting and ends the session within {@link #DEADLINE}
 *       once the client is done (no hang, and a crash would show as no greeting);</li>
 *   <li>every reply line is well formed ({@code ^[2-5][0-9]{2}[ -]}, printable ASCII, CRLF
 *       terminated): no byte of the input is reflected as a line break or control character;</li>
 *   <li>the messages the upstream received while this input ran are exactly the ones the relay
 *       acknowledged with the upstream's {@code 250} (one inbound transaction never becomes two
 *       upstream messages, and no message is delivered without the client being told), and no
 *       upstream connection carried more than one message;</li>
 *   <li>the relay acknowledged no more messages than the client finished (each DATA body ended by
 *       {@code <CRLF>.<CRLF>}, each BDAT LAST chunk complete): a message cut off by the end of
 *       the connection is never relayed;</li>
 *   <li>every message the upstream received has canonical CRLF line endings;</li>
 *   <li>nothing in the relay or in SubEthaSMTP logged an ERROR (an uncaught exception in a
 *       session, a failing {@code done()}), and the relay connected to nothing but its upstream
 *       (Jazzer's SSRF detector).</li>
 * </ul>
 *
 * <p>Without {@code JAZZER_FUZZ} (e.g. {@code -Dtest=InboundSessionFuzzTest}) the corpus in
 * {@code src/test/resources/dev/tlsrelay/fuzz/InboundSessionFuzzTestInputs/session} is replayed,
 * plus the empty input. With {@code JAZZER_FUZZ=1} Jazzer replays it, then fuzzes from it for
 * {@code maxDuration} (or {@code JAZZER_MAX_DURATION}); a finding is written into the same directory,
 * so it is replayed from then on. A plain {@code mvn test} does the latter for 30 seconds (the pom's
 * {@code fuzz} profile); the README's "Fuzzing" section has the commands.
 */
class InboundSessionFuzzTest {

    /** Small, so that the fuzzer reaches the size limit with inputs of a few kilobytes. */
    static final int MAX_MESSAGE_SIZE = 4096;
    static final int MAX_RECIPIENTS = 3;
    /** Generous: a session normally ends in milliseconds once the client is done. */
    static final Duration DEADLINE = Duration.ofSeconds(20);

    /** The relay's reply to a DATA (or BDAT LAST) the catcher took: the catcher's own text. */
    private static final Pattern RELAYED = Pattern.compile("250 2\\.0\\.0 Ok: caught as (\\d{4,})");

    @TempDir
    static Path dir;

    private static Fixture fixture;

    @AfterAll
    static void stop() {
        if (fixture != null) {
            fixture.close();
            fixture = null;
        }
    }

    // No @Timeout: while fuzzing, JUnit would apply it to the whole run. DEADLINE bounds each input.
    @DictionaryFile(resourcePath = "smtp.dict")
    @FuzzTest(maxDuration = "30s")
    void session(byte[] input) throws Exception {
        Fixture f = fixture();
        // Jazzer's SSRF detector reports any connection the predicate does not allow: the client's
        // to the relay, and the relay's to its upstream, are the only ones there may be.
        BugDetectors.allowNetworkConnections((host, port) -> f.isOurs(host, port));
        f.upstreamSessions.clear();
        int caughtBefore = f.catcher.received().size();

        Transcript t = Transcript.exchange(f.relay.port(), input, DEADLINE);
        f.remember(t.clientPort, input);
        try {
            check(f, input, t, caughtBefore);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n  input:   " + Inputs.show(input)
                    + "\n  replies: " + Inputs.show(t.raw) + " (connection " + t.end + ")", e);
        }
    }

    private static void check(Fixture f, byte[] input, Transcript t, int caughtBefore) throws Exception {
        f.errors.assertNone(f);
        if (t.end == Transcript.End.TIMED_OUT) {
            fail("hang: the relay neither ended the session nor answered within " + DEADLINE
                    + " of the client's last byte");
        }
        List<Transcript.Reply> replies = t.replies();
        assertTrue(!replies.isEmpty() && replies.get(0).code() == 220, "no 220 greeting: the listener crashed or"
                + " is wedged, or (a 421 or 554) refused the client, and then a per-client connection or rate limit"
                + " must be raised in the fixture below: every input is a new connection from 127.0.0.1");

        Set<Integer> acknowledged = new TreeSet<>();
        for (Transcript.Reply r : replies) {
            Matcher m = RELAYED.matcher(r.text());
            if (m.matches()) {
                assertTrue(acknowledged.add(Integer.parseInt(m.group(1))), "the same message acknowledged twice");
            }
        }
        int finished = Inputs.finishedMessages(input);
        assertTrue(acknowledged.size() <= finished, "the relay acknowledged " + acknowledged.size()
                + " message(s) but the client finished at most " + finished + " (a truncated message was relayed)");
        List<CaughtMessage> all = f.catcher.received();
        Set<Integer> caught = new TreeSet<>();
        for (CaughtMessage m : all.subList(caughtBefore, all.size())) {
            caught.add(m.number());
            byte[] eml = Files.readAllBytes(m.eml());
            assertTrue(Inputs.canonicalLineEndings(eml), "the upstream received a message with a bare CR or LF: "
                    + Inputs.show(eml));
            // Keep the disk bounded over long runs.
            Files.deleteIfExists(m.eml());
            Files.deleteIfExists(m.facts());
        }
        if (t.end == Transcript.End.CLOSED) {
            assertEquals(caught, acknowledged,
                    "the messages the upstream received (left) are not those the relay acknowledged (right)");
        } else {
            // After a reset the relay's last replies may be lost, never invented.
            assertTrue(caught.containsAll(acknowledged), "acknowledged " + acknowledged + " but the upstream"
                    + " received only " + caught);
        }
        List<String> sessions = new ArrayList<>(f.upstreamSessions);
        assertEquals(sessions.size(), Set.copyOf(sessions).size(),
                "one upstream connection carried more than one message: " + sessions);
    }

    private static synchronized Fixture fixture() throws Exception {
        if (fixture == null) {
            // Started on the first input, not in @BeforeAll: when fuzzing, the relay's classes are
            // then loaded after Jazzer's agent, so they are instrumented from the start.
            fixture = new Fixture(dir);
        }
        return fixture;
    }

    /** One relay and its upstream catcher for the whole run, and what the oracle watches. */
    static final class Fixture implements AutoCloseable {
        private static final String[] QUIETED = {"dev.tlsrelay", "org.subethamail"};

        final Catcher catcher;
        final RelayFixture relay;
        final ErrorRecorder errors = new ErrorRecorder();
        /** Upstream (catcher-side) session of each message caught during the current input. */
        final ConcurrentLinkedQueue<String> upstreamSessions = new ConcurrentLinkedQueue<>();
        private final Map<String, Level> levelsBefore = new LinkedHashMap<>();
        /** Recent inputs by client port, to name the input behind an error logged late. */
        private final Map<Integer, byte[]> recent = new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, byte[]> eldest) {
                return size() > 64;
            }
        };

        Fixture(Path dir) throws Exception {
            TestPki pki = new TestPki();
            catcher = Catchers.start(dir.resolve("caught"), TlsMode.STARTTLS, pki.good());
            catcher.onMessage(m -> {
                String session = MDC.get("SessionId");
                upstreamSessions.add(session != null ? session : Thread.currentThread().getName());
            });
            relay = RelayFixture.start(dir, Map.ofEntries(
                    Map.entry("upstream.host", "127.0.0.1"),
                    Map.entry("upstream.port", String.valueOf(catcher.port())),
                    Map.entry("upstream.tls.ca-file", pki.writeCa(dir).toString()),
                    Map.entry("upstream.timeout", "10s"),
                    Map.entry("listen.timeout", "10s"),
                    Map.entry("listen.max-message-size", String.valueOf(MAX_MESSAGE_SIZE)),
                    Map.entry("listen.max-recipients", String.valueOf(MAX_RECIPIENTS)),
                    // Every input is a new connection from 127.0.0.1, thousands a minute: the per-address
                    // limits would refuse them, and the error cap would cut inputs short.
                    Map.entry("listen.rate-per-ip", "100000000"),
                    Map.entry("listen.max-connections-per-ip", "1000"),
                    Map.entry("listen.max-errors", "100000"),
                    // One upstream connection per message, so "one upstream connection carries at most
                    // one message" still checks that a transaction never becomes two messages.
                    Map.entry("upstream.pool.max-messages-per-connection", "1")));
            // Thousands of sessions: keep the relay's per-message INFO/WARN lines out of the build
            // log. ERRORs still reach the recorder, which fails the input that caused them.
            for (String name : QUIETED) {
                Logger logger = (Logger) LoggerFactory.getLogger(name);
                levelsBefore.put(name, logger.getLevel());
                logger.setLevel(Level.ERROR);
            }
            errors.setContext(root().getLoggerContext());
            errors.start();
            root().addAppender(errors);
        }

        boolean isOurs(String host, int port) {
            return ("127.0.0.1".equals(host) || "localhost".equals(host))
                    && (port == relay.port() || port == catcher.port());
        }

        synchronized void remember(int clientPort, byte[] input) {
            recent.put(clientPort, input);
        }

        /**
         * The input whose connection a session thread served: SubEthaSMTP names a session's thread
         * after the client's address and port while the session runs.
         */
        synchronized String inputOfThread(String threadName) {
            Matcher m = Pattern.compile(":(\\d+)$").matcher(threadName);
            byte[] input = m.find() ? recent.get(Integer.parseInt(m.group(1))) : null;
            return input == null ? "not one of the recent inputs (a catcher session, or older)" : Inputs.show(input);
        }

        private static Logger root() {
            return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        }

        @Override
        public void close() {
            root().detachAppender(errors);
            errors.stop();
            relay.close();
            catcher.close();
            levelsBefore.forEach((name, level) -> ((Logger) LoggerFactory.getLogger(name)).setLevel(level));
        }
    }

    /** Collects ERROR events of the relay and of SubEthaSMTP (ours and the catcher's sessions). */
    static final class ErrorRecorder extends AppenderBase<ILoggingEvent> {
        private final ConcurrentLinkedQueue<ILoggingEvent> events = new ConcurrentLinkedQueue<>();

        @Override
        protected void append(ILoggingEvent e) {
            if (e.getLevel().isGreaterOrEqual(Level.ERROR)
                    && (e.getLoggerName().startsWith("dev.tlsrelay") || e.getLoggerName().startsWith("org.subethamail"))) {
                events.add(e);
            }
        }

        /**
         * Fails on the first ERROR recorded so far. Errors logged after a session's connection closed
         * (in {@code done()}) surface with the next input; the message names the input that caused them.
         */
        void assertNone(Fixture f) {
            ILoggingEvent e = events.poll();
            if (e == null) {
                return;
            }
            StringBuilder sb = new StringBuilder("ERROR logged by ").append(e.getLoggerName()).append(" on thread ")
                    .append(e.getThreadName()).append(": ").append(e.getFormattedMessage())
                    .append("\n  the session's input: ").append(f.inputOfThread(e.getThreadName()));
            for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
                sb.append("\n    caused by ").append(t.getClassName()).append(": ").append(t.getMessage());
                var frames = t.getStackTraceElementProxyArray();
                for (int i = 0; i < Math.min(8, frames.length); i++) {
                    sb.append("\n      ").append(frames[i].getSTEAsString());
                }
            }
            fail(sb.toString());
        }
    }
}
