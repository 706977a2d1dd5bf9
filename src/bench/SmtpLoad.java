// SMTP load generator for src/bench/run, with per-message latency (smtp-source has none).
// Single-file source program, no dependencies: java src/bench/SmtpLoad.java MODE ...
//
//   load HOST PORT MESSAGES SESSIONS SIZE [reuse]
//       Sends MESSAGES messages (SIZE bytes of body text after a few header lines, like
//       smtp-source -l SIZE) over SESSIONS concurrent sessions, one command at a time (no pipelining,
//       like a legacy device and like smtp-source). Without "reuse" every message is its own
//       connection (smtp-source's default) and its latency runs from connect() to the final reply
//       to the terminating dot; with "reuse" a session keeps its connection and latency runs from
//       MAIL FROM to that reply. Prints one line of key=value pairs.
//
//   idle HOST PORT COUNT
//       Opens COUNT connections, reads each greeting and sends EHLO, prints "READY n", then holds
//       them until its standard input is closed (or reaches EOF), and closes them.
//
// Not part of the relay and not compiled by Maven: src/bench/ is outside src/main and src/test.

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

public class SmtpLoad {

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            usage();
        }
        switch (args[0]) {
            case "load" -> {
                if (args.length < 6) {
                    usage();
                }
                load(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                        Integer.parseInt(args[5]), args.length > 6 && args[6].equals("reuse"));
            }
            case "idle" -> {
                if (args.length < 4) {
                    usage();
                }
                idle(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            }
            default -> usage();
        }
    }

    private static void usage() {
        System.err.println("usage: SmtpLoad load HOST PORT MESSAGES SESSIONS SIZE [reuse]");
        System.err.println("       SmtpLoad idle HOST PORT COUNT");
        System.exit(2);
    }

    // ---- load ----------------------------------------------------------------------------------

    private static void load(String host, int port, int messages, int sessions, int size, boolean reuse)
            throws InterruptedException {
        byte[] body = body(size);
        long[] latencies = new long[messages];
        AtomicInteger next = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicLong firstError = new AtomicLong();
        String[] error = new String[1];
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (int s = 0; s < sessions; s++) {
            Thread t = new Thread(() -> {
                Conn c = null;
                int i;
                while ((i = next.getAndIncrement()) < messages) {
                    long t0 = System.nanoTime();
                    try {
                        if (c == null) {
                            c = Conn.open(host, port);
                            if (reuse) {
                                t0 = System.nanoTime(); // a reused session's latency starts at MAIL
                            }
                        }
                        c.send(i, body);
                        latencies[i] = System.nanoTime() - t0;
                        if (!reuse) {
                            c.quit();
                            c = null;
                        }
                    } catch (IOException | RuntimeException e) {
                        latencies[i] = -1;
                        failed.incrementAndGet();
                        if (firstError.compareAndSet(0, 1)) {
                            error[0] = e.getMessage();
                        }
                        if (c != null) {
                            c.closeQuietly();
                            c = null;
                        }
                    }
                }
                if (c != null) {
                    try {
                        c.quit();
                    } catch (IOException e) {
                        c.closeQuietly();
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        long wall = System.nanoTime() - start;
        long[] ok = Arrays.stream(latencies).filter(l -> l >= 0).sorted().toArray();
        StringBuilder out = new StringBuilder();
        out.append("sent=").append(ok.length).append(" failed=").append(failed.get());
        out.append(" wall_ms=").append(fmt(wall / 1e6));
        out.append(" msgs_per_s=").append(fmt(ok.length / (wall / 1e9)));
        out.append(" p50_ms=").append(fmt(percentile(ok, 50)));
        out.append(" p90_ms=").append(fmt(percentile(ok, 90)));
        out.append(" p99_ms=").append(fmt(percentile(ok, 99)));
        out.append(" max_ms=").append(fmt(ok.length == 0 ? Double.NaN : ok[ok.length - 1] / 1e6));
        if (error[0] != null) {
            out.append(" first_error=\"").append(error[0].replace('"', '\'').replace('\n', ' ')).append('"');
        }
        System.out.println(out);
    }

    /** Nearest-rank percentile, in milliseconds. */
    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))] / 1e6;
    }

    private static String fmt(double d) {
        return String.format(Locale.ROOT, "%.3f", d);
    }

    /** Exactly SIZE bytes of 7-bit text in CRLF lines of 66 octets or fewer (never a bare CR or LF). */
    private static byte[] body(int size) {
        StringBuilder b = new StringBuilder(size);
        String text = "La de da de da. The quick brown fox jumps over the lazy dog. 0123";
        int full = size / 66;
        int rest = size % 66;
        for (int i = 0; i < full; i++) {
            b.append(text, 0, 64);
            if (i == 0 && rest == 1) {
                b.append('!'); // one octet left over: lengthen the first line rather than leave a lone byte
            }
            b.append("\r\n");
        }
        if (rest >= 2) {
            b.append(text, 0, rest - 2).append("\r\n");
        }
        byte[] out = b.toString().getBytes(StandardCharsets.US_ASCII);
        if (out.length != size) {
            throw new IllegalArgumentException("body of " + out.length + " bytes instead of " + size);
        }
        return out;
    }

    /** One client connection, one command at a time. */
    private static final class Conn {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        private Conn(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
        }

        static Conn open(String host, int port) throws IOException {
            Socket s = new Socket();
            s.setTcpNoDelay(true);
            s.setSoTimeout(120_000);
            s.connect(new InetSocketAddress(host, port), 30_000);
            Conn c = new Conn(s);
            try {
                c.expect(2, "greeting");
                c.command("EHLO bench-client.invalid", 2);
            } catch (IOException e) {
                c.closeQuietly();
                throw e;
            }
            return c;
        }

        void send(int n, byte[] body) throws IOException {
            command("MAIL FROM:<bench@client.invalid>", 2);
            command("RCPT TO:<sink@sink.invalid>", 2);
            command("DATA", 3);
            String headers = "From: <bench@client.invalid>\r\nTo: <sink@sink.invalid>\r\nSubject: bench " + n
                    + "\r\nMessage-Id: <" + n + "." + System.nanoTime() + "@client.invalid>\r\n\r\n";
            out.write(headers.getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            expect(2, "end of data");
        }

        void quit() throws IOException {
            try {
                command("QUIT", 2);
            } finally {
                closeQuietly();
            }
        }

        void command(String cmd, int expectedClass) throws IOException {
            out.write((cmd + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            expect(expectedClass, cmd.split(" ")[0]);
        }

        /** Reads one (possibly multi-line) reply; throws unless its code starts with the given digit. */
        void expect(int expectedClass, String what) throws IOException {
            while (true) {
                String line = readLine();
                if (line.length() < 3) {
                    throw new IOException("short reply to " + what + ": " + line);
                }
                if (line.length() == 3 || line.charAt(3) != '-') {
                    if (line.charAt(0) - '0' != expectedClass) {
                        throw new IOException("reply to " + what + ": " + line);
                    }
                    return;
                }
            }
        }

        String readLine() throws IOException {
            StringBuilder b = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    int len = b.length();
                    if (len > 0 && b.charAt(len - 1) == '\r') {
                        b.setLength(len - 1);
                    }
                    return b.toString();
                }
                b.append((char) c);
            }
            throw new IOException("connection closed by the server");
        }

        void closeQuietly() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Done with it anyway.
            }
        }
    }

    // ---- idle ----------------------------------------------------------------------------------

    private static void idle(String host, int port, int count) throws IOException {
        List<Conn> open = new ArrayList<>();
        int failed = 0;
        String firstError = null;
        for (int i = 0; i < count; i++) {
            try {
                open.add(Conn.open(host, port));
            } catch (IOException e) {
                failed++;
                if (firstError == null) {
                    firstError = e.getMessage();
                }
            }
        }
        System.out.println("READY " + open.size() + " failed=" + failed
                + (firstError == null ? "" : " first_error=\"" + firstError.replace('"', '\'') + "\""));
        System.out.flush();
        // Hold until the caller closes our standard input.
        while (System.in.read() >= 0) {
            // keep holding
        }
        for (Conn c : open) {
            c.closeQuietly();
        }
    }
}
