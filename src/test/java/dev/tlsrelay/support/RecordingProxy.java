package dev.tlsrelay.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback TCP forwarder that records every byte its clients send to the target: a wire tap
 * between the relay and a real upstream, to prove what the relay did (or did not) say in plaintext.
 * It forwards unchanged in both directions and records only the client-to-server direction.
 */
public final class RecordingProxy implements AutoCloseable {

    private final ServerSocket listener;
    private final int targetPort;
    private final ByteArrayOutputStream fromClients = new ByteArrayOutputStream();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger mostOpen = new AtomicInteger();

    private RecordingProxy(ServerSocket listener, int targetPort) {
        this.listener = listener;
        this.targetPort = targetPort;
    }

    /** Forwards 127.0.0.1:{@link #port()} to 127.0.0.1:{@code targetPort}. */
    public static RecordingProxy start(int targetPort) throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        RecordingProxy p = new RecordingProxy(ss, targetPort);
        Thread.ofVirtual().name("recording-proxy").start(p::acceptLoop);
        return p;
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Everything clients sent so far, as ISO-8859-1 text (SMTP commands are ASCII). */
    public String clientBytes() {
        synchronized (fromClients) {
            return fromClients.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** The most client connections that were open at the same time (a sender's concurrency upstream). */
    public int mostConnectionsAtOnce() {
        return mostOpen.get();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5_000);
                sockets.add(client);
                sockets.add(server);
                mostOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
                Thread.ofVirtual().start(() -> pump(client, server, true));
                Thread.ofVirtual().start(() -> pump(server, client, false));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void pump(Socket from, Socket to, boolean record) {
        byte[] buf = new byte[8192];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (record) {
                    synchronized (fromClients) {
                        fromClients.write(buf, 0, n);
                    }
                }
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // One side went away; closing both below ends the other pump too.
        } finally {
            closeQuietly(from);
            closeQuietly(to);
            if (record) {
                open.decrementAndGet(); // once per connection: its client-to-server pump has ended
            }
        }
    }

    @Override
    public void close() {
        closeQuietly(listener);
        sockets.forEach(RecordingProxy::closeQuietly);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort
        }
    }
}
