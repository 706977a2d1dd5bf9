package dev.tlsrelay.support;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Everything the operational log says while it is open: every logger (the relay's own at DEBUG, so
 * even debug lines are checked), with the messages and exceptions as they would be printed.
 */
public final class LogCapture implements AutoCloseable {

    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    private final Logger relay = (Logger) LoggerFactory.getLogger("dev.tlsrelay");
    private final Level relayLevel;

    public LogCapture() {
        appender.start();
        root.addAppender(appender);
        relayLevel = relay.getLevel();
        relay.setLevel(Level.DEBUG);
    }

    /** Each event as one line: level, logger, message, then every exception in the chain. */
    public List<String> lines() {
        return appender.list.stream().map(LogCapture::render).toList();
    }

    public String text() {
        return String.join("\n", lines());
    }

    private static String render(ILoggingEvent e) {
        StringBuilder sb = new StringBuilder(e.getLevel() + " " + e.getLoggerName() + " - " + e.getFormattedMessage());
        for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
            sb.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
        }
        return sb.toString();
    }

    @Override
    public void close() {
        root.detachAppender(appender);
        relay.setLevel(relayLevel);
    }
}
