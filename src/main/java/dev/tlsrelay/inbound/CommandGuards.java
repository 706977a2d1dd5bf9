package dev.tlsrelay.inbound;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import org.subethamail.smtp.DropConnectionException;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.internal.command.BdatCommand;
import org.subethamail.smtp.internal.server.Command;
import org.subethamail.smtp.internal.server.CommandException;
import org.subethamail.smtp.internal.server.CommandHandler;
import org.subethamail.smtp.internal.server.HelpMessage;
import org.subethamail.smtp.internal.server.RequireAuthCommandWrapper;
import org.subethamail.smtp.internal.server.RequireTLSCommandWrapper;
import org.subethamail.smtp.internal.util.SMTPResponseHelper;
import org.subethamail.smtp.server.Session;

/**
 * Puts a guard in front of SubEthaSMTP's commands, for faults of SubEthaSMTP 7.2.2 that the fuzz
 * test of the inbound session ({@code InboundSessionFuzzTest}) found:
 * <ul>
 *   <li>{@code MAIL FROM:<a@b> SIZE=2147483648} (any SIZE beyond an {@code int}) threw a
 *       NumberFormatException out of the session: an ERROR with a stack trace in the log and a
 *       {@code 421} for the client, which then retries for ever. It now gets {@code 552 5.3.4}, as
 *       for any other SIZE above the limit.</li>
 *   <li>Control characters in a command line (NUL, ESC, DEL, ...) were echoed back in reply text
 *       ({@code 553 <a\0b@x> Invalid email address.}, {@code 504 HELP topic "..." unknown.}). No
 *       SMTP command has them: such a line is refused with {@code 501 5.5.2} and never parsed.</li>
 *   <li>{@code HELP <topic>} answered a multi-line reply whose lines were separated by a bare LF.
 *       HELP now answers one line.</li>
 *   <li>BDAT (CHUNKING, which SubEthaSMTP always advertises) took the end of the connection inside
 *       a chunk for the end of the message, so a client cut off mid-chunk had a truncated message
 *       relayed (and {@code BDAT 99999999999 LAST} relayed whatever came before the client hung
 *       up); and a connection closed between two chunks threw a NullPointerException out of the
 *       session. BDAT is reimplemented here: a chunk or chunk line cut short is a lost connection,
 *       as it is for DATA, and nothing is relayed.</li>
 * </ul>
 * DATA is replaced too, for speed only: {@link DotBody} reads the body in bulk where SubEthaSMTP's
 * streams read it one byte per call; the bytes, replies and session state are SubEthaSMTP's.
 */
final class CommandGuards {

    private static final BigInteger INT_MAX = BigInteger.valueOf(Integer.MAX_VALUE);
    /** RFC 5321 4.5.3.1.4: a command line is at most 512 octets; allow what SubEthaSMTP allows. */
    private static final int MAX_LINE = 998;

    private CommandGuards() {}

    /**
     * Guards every command the handler has. HELP and BDAT are replaced, behind the same
     * STARTTLS/AUTH-required wrappers SubEthaSMTP puts around its own; the others keep theirs.
     */
    static void install(CommandHandler handler) {
        handler.addCommand(new RequireAuthCommandWrapper(new RequireTLSCommandWrapper(new Help())));
        handler.addCommand(new RequireAuthCommandWrapper(new RequireTLSCommandWrapper(new Data())));
        handler.addCommand(new RequireAuthCommandWrapper(new RequireTLSCommandWrapper(new Bdat())));
        for (String verb : List.copyOf(handler.getVerbs())) {
            handler.addCommand(new Guard(handler.getCommand(verb)));
        }
    }

    /** True if the line holds a control character other than TAB (CR and LF never reach a command). */
    static boolean hasControlCharacter(String line) {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return true;
            }
        }
        return false;
    }

    /**
     * True if a MAIL command's SIZE parameter, read the way SubEthaSMTP reads it (the digits after
     * the first {@code " size="}, when nothing else follows), does not fit an {@code int}.
     */
    static boolean sizeBeyondInt(String mailCommand) {
        String lower = mailCommand.toLowerCase(Locale.ENGLISH);
        int at = lower.indexOf(" size=");
        if (at < 0) {
            return false;
        }
        String digits = lower.substring(at + 6).trim();
        return digits.matches("[0-9]+") && new BigInteger(digits).compareTo(INT_MAX) > 0;
    }

    private record Guard(Command wrapped) implements Command {

        @Override
        public void execute(String commandString, Session session) throws IOException, DropConnectionException {
            if (hasControlCharacter(commandString)) {
                session.sendResponse("501 5.5.2 Syntax error: control character in command");
            } else if (getName().equals("MAIL") && sizeBeyondInt(commandString)) {
                session.sendResponse("552 5.3.4 Message size exceeds fixed limit");
            } else {
                wrapped.execute(commandString, session);
            }
        }

        @Override
        public HelpMessage getHelp() throws CommandException {
            return wrapped.getHelp();
        }

        @Override
        public String getName() {
            return wrapped.getName();
        }
    }

    private static final class Help implements Command {

        @Override
        public void execute(String commandString, Session session) throws IOException {
            session.sendResponse("214 2.0.0 See RFC 5321");
        }

        @Override
        public HelpMessage getHelp() {
            return new HelpMessage("HELP", "Points to RFC 5321.");
        }

        @Override
        public String getName() {
            return "HELP";
        }
    }

    /** DATA exactly as SubEthaSMTP's DataCommand does it (received headers off), with the body read in bulk. */
    private static final class Data implements Command {

        @Override
        public void execute(String commandString, Session session) throws IOException, DropConnectionException {
            if (!transactionReady(session)) {
                return;
            }
            if (!session.getServer().getDisableReceivedHeaders()) {
                throw new IllegalStateException("the relay adds its own Received header; SubEthaSMTP's must be off");
            }
            session.sendResponse("354 End data with <CR><LF>.<CR><LF>");
            receive(session, new DotBody(session.getRawInput()));
        }

        @Override
        public HelpMessage getHelp() {
            return new HelpMessage("DATA", "Following text is collected as the message. End data with <CR><LF>.<CR><LF>");
        }

        @Override
        public String getName() {
            return "DATA";
        }
    }

    /** Whether MAIL and at least one RCPT came first; if not, says so (503) and returns false. */
    private static boolean transactionReady(Session session) throws IOException {
        if (!session.isMailTransactionInProgress()) {
            session.sendResponse("503 5.5.1 Error: need MAIL command");
            return false;
        }
        if (session.getRecipientCount() == 0) {
            session.sendResponse("503 5.5.1 Error: need RCPT command");
            return false;
        }
        return true;
    }

    /** Hands a message body (DATA or BDAT) to the handler and answers with its verdict. */
    private static void receive(Session session, InputStream body) throws IOException, DropConnectionException {
        String accepted;
        try {
            accepted = session.getMessageHandler().data(body);
            // What the handler left unread must not be taken for commands.
            body.transferTo(OutputStream.nullOutputStream());
        } catch (DropConnectionException e) {
            throw e;
        } catch (RejectException e) {
            session.sendResponse(e.getErrorResponse());
            return;
        }
        session.sendResponse(accepted == null ? "250 Ok" : SMTPResponseHelper.buildResponse("250", accepted));
        session.resetMailTransaction();
    }

    /** RFC 3030 BDAT, as SubEthaSMTP's BdatCommand does it except for the end of a cut-off chunk. */
    private static final class Bdat implements Command {

        @Override
        public void execute(String commandString, Session session) throws IOException, DropConnectionException {
            if (!transactionReady(session)) {
                return;
            }
            BdatCommand.Bdat first = BdatCommand.parse(commandString);
            if (first.errorMessage != null) {
                session.sendResponse(first.errorMessage);
                return;
            }
            receive(session, new Chunks(session, first));
        }

        @Override
        public HelpMessage getHelp() {
            return new HelpMessage("BDAT", "A sequence of BDAT chunks is collected as the message.");
        }

        @Override
        public String getName() {
            return "BDAT";
        }
    }

    /**
     * The message body across its BDAT chunks, read from the session's raw input. Each chunk but
     * the last is acknowledged when the body is read past it, then the next BDAT line is read.
     */
    private static final class Chunks extends InputStream {
        private final Session session;
        private final InputStream in;
        private long size;
        private long remaining;
        private boolean last;

        Chunks(Session session, BdatCommand.Bdat first) {
            this.session = session;
            this.in = session.getRawInput();
            this.size = first.size;
            this.remaining = first.size;
            this.last = first.isLast;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (remaining == 0) {
                if (last) {
                    return -1;
                }
                nextChunk();
            }
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new EOFException("connection closed inside a BDAT chunk");
            }
            remaining -= n;
            return n;
        }

        private void nextChunk() throws IOException {
            session.sendResponse("250 2.0.0 " + size + " octets received");
            String line = readLine();
            BdatCommand.Bdat next = line.regionMatches(true, 0, "BDAT ", 0, 5) && !hasControlCharacter(line)
                    ? BdatCommand.parse(line) : null;
            if (next == null || next.errorMessage != null) {
                String reply = next == null ? "503 5.5.1 Error: expected a BDAT command" : next.errorMessage;
                session.sendResponse(reply);
                throw new IOException(reply);
            }
            size = next.size;
            remaining = next.size;
            last = next.isLast;
        }

        /** One CRLF-terminated line, without it; a bare CR or LF, an overlong line or the end of input is an error. */
        private String readLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            while (true) {
                int c = in.read();
                if (c < 0) {
                    throw new EOFException("connection closed between BDAT chunks");
                }
                if (c == '\r') {
                    if (in.read() != '\n') {
                        throw fatal("501 5.5.2 Syntax error: CR and LF must be CRLF paired");
                    }
                    return line.toString(StandardCharsets.UTF_8);
                }
                if (c == '\n') {
                    throw fatal("501 5.5.2 Syntax error: CR and LF must be CRLF paired");
                }
                if (line.size() >= MAX_LINE) {
                    throw fatal("500 5.5.6 Line too long");
                }
                line.write(c);
            }
        }

        private IOException fatal(String reply) throws IOException {
            session.sendResponse(reply);
            return new IOException(reply);
        }
    }
}
