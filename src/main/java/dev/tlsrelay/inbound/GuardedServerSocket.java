package dev.tlsrelay.inbound;

import dev.tlsrelay.config.RelayConfig;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listening socket, with a watch on every client connection that SubEthaSMTP has no hooks for.
 * SubEthaSMTP writes each reply in one flushed write, so the reply stream tells what the session does:
 * <ul>
 *   <li>PIPELINING (RFC 2920) is inserted into the EHLO reply: SubEthaSMTP handles pipelined commands
 *       correctly (it reads one command at a time and answers each in order) but does not list it.</li>
 *   <li>Error replies (4xx/5xx) and commands are counted; past {@code listen.max-errors} or
 *       {@code listen.max-commands} the client gets {@code 421} and is disconnected, so a script that
 *       hammers the relay with garbage ties up one session for a bounded time only.</li>
 *   <li>A session is cut after {@code listen.max-session-duration}, however active: the read timeout
 *       alone cannot stop a client that sends one byte just before each timeout (slowloris).</li>
 * </ul>
 */
final class GuardedServerSocket extends ServerSocket {

    private static final Logger log = LoggerFactory.getLogger(GuardedServerSocket.class);

    private final RelayConfig.Abuse limits;

    GuardedServerSocket(RelayConfig.Abuse limits) throws IOException {
        super();
        this.limits = limits;
    }

    @Override
    public Socket accept() throws IOException {
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        GuardedSocket s = new GuardedSocket(limits);
        implAccept(s);
        s.startClock();
        return s;
    }

    /**
     * One timer for every session's listen.max-session-duration: a scheduled task per session (tens of
     * bytes) rather than a sleeping thread per session (a few KB of stack and scheduler state each).
     * Cancelled tasks leave the queue at once, so a busy relay does not accumulate them.
     */
    private static final ScheduledThreadPoolExecutor CLOCK = clock();

    private static ScheduledThreadPoolExecutor clock() {
        ScheduledThreadPoolExecutor c = new ScheduledThreadPoolExecutor(1,
                Thread.ofPlatform().name("tlsrelay-session-clock").daemon().factory());
        c.setRemoveOnCancelPolicy(true);
        return c;
    }

    private static long saturatedMillis(Duration d) {
        try {
            return d.toMillis();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    private static final class GuardedSocket extends Socket {
        private final RelayConfig.Abuse limits;
        private ReplyWatch out;
        private volatile ScheduledFuture<?> clock;

        GuardedSocket(RelayConfig.Abuse limits) {
            this.limits = limits;
        }

        void startClock() {
            Duration max = limits.maxSessionDuration();
            // The disconnect writes to the client, which may not be reading: never on the timer's thread.
            clock = CLOCK.schedule(() -> Thread.ofVirtual().name("tlsrelay-session-clock").start(() -> {
                if (!isClosed()) {
                    log.warn("session from {} exceeded listen.max-session-duration ({}); disconnecting",
                            getInetAddress().getHostAddress(), max);
                    try {
                        replyWatch().disconnect("421 4.4.2 Session too long (listen.max-session-duration), closing");
                    } catch (IOException ignored) {
                        // Closing anyway.
                    }
                }
            }), saturatedMillis(max), TimeUnit.MILLISECONDS);
        }

        @Override
        public synchronized OutputStream getOutputStream() throws IOException {
            return replyWatch();
        }

        private synchronized ReplyWatch replyWatch() throws IOException {
            if (out == null) {
                out = new ReplyWatch(super.getOutputStream(), this, limits);
            }
            return out;
        }

        @Override
        public synchronized void close() throws IOException {
            ScheduledFuture<?> c = clock;
            if (c != null) {
                c.cancel(false);
            }
            super.close();
        }
    }

    /** Watches replies as they are written: inserts PIPELINING, counts commands and errors. */
    static final class ReplyWatch extends FilterOutputStream {
        private static final byte[] MARK = "\r\n250-8BITMIME\r\n".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] INSERT = "\r\n250-PIPELINING".getBytes(StandardCharsets.US_ASCII);

        private final Socket socket;
        private final RelayConfig.Abuse limits;
        private int replies;
        private int errors;
        private boolean closed;

        ReplyWatch(OutputStream out, Socket socket, RelayConfig.Abuse limits) {
            super(out);
            this.socket = socket;
            this.limits = limits;
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            if (closed) {
                throw new SocketException("session closed by the relay");
            }
            int at = len >= MARK.length && b[off] == '2' ? indexOf(b, off, len) : -1;
            if (at < 0) {
                out.write(b, off, len);
            } else {
                // One write, as SubEthaSMTP made it: three writes to the unbuffered socket stream
                // become three segments, and Nagle holds the later ones until the client ACKs the
                // first, which it delays (40 ms on Linux) while waiting for the rest of the reply.
                byte[] reply = new byte[len + INSERT.length];
                System.arraycopy(b, off, reply, 0, at - off);
                System.arraycopy(INSERT, 0, reply, at - off, INSERT.length);
                System.arraycopy(b, at, reply, at - off + INSERT.length, len - (at - off));
                out.write(reply);
            }
            count(b, off, len);
        }

        @Override
        public synchronized void write(int b) throws IOException {
            if (closed) {
                throw new SocketException("session closed by the relay");
            }
            out.write(b);
        }

        @Override
        public synchronized void flush() throws IOException {
            if (!closed) {
                out.flush();
            }
        }

        /**
         * One write is one reply; the greeting (first) and 354 are not commands. After the reply to the
         * last allowed command, the client is told and disconnected.
         */
        private void count(byte[] b, int off, int len) throws IOException {
            if (len < 3 || b[off] < '2' || b[off] > '5') {
                return;
            }
            replies++;
            boolean intermediate = b[off] == '3';
            if (b[off] == '4' || b[off] == '5') {
                errors++;
            }
            if (errors >= limits.maxErrors() && !(b[off] == '4' && b[off + 1] == '2' && b[off + 2] == '1')) {
                log.warn("client {} made {} errors (listen.max-errors); disconnecting",
                        socket.getInetAddress().getHostAddress(), errors);
                disconnect("421 4.7.0 Too many errors, closing connection");
            } else if (!intermediate && replies - 1 >= limits.maxCommands()) {
                log.warn("client {} sent more than {} commands (listen.max-commands); disconnecting",
                        socket.getInetAddress().getHostAddress(), limits.maxCommands());
                disconnect("421 4.7.0 Too many commands in one session, closing connection");
            }
        }

        /** Says why, then closes: the session's next read fails and SubEthaSMTP ends it. */
        synchronized void disconnect(String reply) throws IOException {
            if (closed) {
                return;
            }
            try {
                out.write((reply + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } finally {
                closed = true;
                socket.close();
            }
        }

        private static int indexOf(byte[] b, int off, int len) {
            for (int i = off; i <= off + len - MARK.length; i++) {
                if (Arrays.equals(b, i, i + MARK.length, MARK, 0, MARK.length)) {
                    return i;
                }
            }
            return -1;
        }
    }
}
