package dev.tlsrelay.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A plaintext SMTP server that advertises STARTTLS and then refuses it, the way Postfix answers
 * when its own TLS setup is broken ({@code 454 4.7.0 TLS not available due to local problem}).
 * Every other command but EHLO/HELO/QUIT gets 530, and every command line is recorded, so a test
 * can prove what the relay said in plaintext.
 */
public final class StartTlsRefusingServer implements AutoCloseable {

    public static final String REFUSAL = "454 4.7.0 TLS not available due to local problem";

    private final ServerSocket listener;
    private final List<String> commands = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    private StartTlsRefusingServer(ServerSocket listener) {
        this.listener = listener;
    }

    public static StartTlsRefusingServer start() throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        StartTlsRefusingServer server = new StartTlsRefusingServer(ss);
        Thread.ofVirtual().name("starttls-refusing-server").start(server::acceptLoop);
        return server;
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Command lines received so far, from all connections, in order. */
    public List<String> commands() {
        return List.copyOf(commands);
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket s = listener.accept();
                sockets.add(s);
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            s.setSoTimeout(10_000);
            SmtpLines.reply(out, "220 broken-tls.test ESMTP");
            String line;
            while ((line = SmtpLines.readLine(in)) != null) {
                commands.add(line);
                switch (line.split(" ", 2)[0].toUpperCase(Locale.ROOT)) {
                    case "EHLO" -> SmtpLines.reply(out, "250-broken-tls.test\r\n250-PIPELINING\r\n250 STARTTLS");
                    case "HELO" -> SmtpLines.reply(out, "250 broken-tls.test");
                    case "STARTTLS" -> SmtpLines.reply(out, REFUSAL);
                    case "QUIT" -> {
                        SmtpLines.reply(out, "221 2.0.0 Bye");
                        return;
                    }
                    default -> SmtpLines.reply(out, "530 5.7.0 Must issue a STARTTLS command first");
                }
            }
        } catch (IOException e) {
            // client went away
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
