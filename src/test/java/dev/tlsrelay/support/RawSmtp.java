package dev.tlsrelay.support;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A bare SMTP client over a socket, for tests that need exact control over bytes and timing. */
public final class RawSmtp implements AutoCloseable {

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawSmtp(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(15_000);
        this.in = new BufferedInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    public static RawSmtp connect(int port) throws IOException {
        return connect(port, InetAddress.getByName("127.0.0.1"));
    }

    /** Connects from a chosen local loopback address (e.g. 127.0.0.2). */
    public static RawSmtp connect(int port, InetAddress from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        return new RawSmtp(s);
    }

    /** Reads one complete (possibly multi-line) reply, lines joined with \n; "" at end of stream. */
    public String reply() throws IOException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            String line = line();
            if (line == null) {
                return sb.toString();
            }
            if (!sb.isEmpty()) {
                sb.append('\n');
            }
            sb.append(line);
            if (line.length() < 4 || line.charAt(3) != '-') {
                return sb.toString();
            }
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1) {
            if (b == '\n') {
                String s = buf.toString(StandardCharsets.UTF_8);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            buf.write(b);
        }
        return buf.size() == 0 ? null : buf.toString(StandardCharsets.UTF_8);
    }

    /** Sends one command line (CRLF added). */
    public RawSmtp send(String line) throws IOException {
        return sendRaw((line + "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Sends bytes exactly as given. */
    public RawSmtp sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** Sends a command and returns its reply. */
    public String command(String line) throws IOException {
        send(line);
        return reply();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /**
     * About 1 MiB of 78-character lines ending in CRLF, cut on a line boundary: blocks sent one after
     * another join into whole lines.
     */
    public static byte[] mebibyteOfLines() {
        byte[] line = ("A".repeat(76) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] block = new byte[1024 * 1024 / line.length * line.length];
        for (int i = 0; i < block.length; i++) {
            block[i] = line[i % line.length];
        }
        return block;
    }
}
