package dev.tlsrelay.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import java.util.Iterator;
import org.slf4j.LoggerFactory;

/**
 * The operational log for commands whose standard output is a report ({@code probe},
 * {@code send-test}): it goes to standard error, at WARN unless TLSRELAY_LOG_LEVEL says otherwise,
 * so {@code --json} output stays one clean JSON document and the report is not interleaved with
 * log lines that repeat it.
 */
final class ConsoleLog {

    private ConsoleLog() {}

    static void toStandardError() {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return;
        }
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
            if (it.next() instanceof ConsoleAppender<ILoggingEvent> console
                    && !"System.err".equals(console.getTarget())) {
                console.stop();
                console.setTarget("System.err");
                console.start();
            }
        }
        quiet();
    }

    /**
     * The relay's own INFO lines off (warnings stay), for commands that print their own account of
     * what happens (probe, send-test, demo); TLSRELAY_LOG_LEVEL overrides.
     */
    static void quiet() {
        if (System.getenv("TLSRELAY_LOG_LEVEL") == null
                && LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
            ctx.getLogger("dev.tlsrelay").setLevel(Level.WARN);
        }
    }
}
