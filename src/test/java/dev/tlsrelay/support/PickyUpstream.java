package dev.tlsrelay.support;

import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.SMTPServer;

/**
 * A real SubEthaSMTP upstream with STARTTLS that says no like a provider does: {@code nobody@...}
 * gets 550 5.1.1, {@code full@...} 452 4.2.2; a message with {@code Subject: spam} 554 5.7.1, with
 * {@code Subject: later} 451 4.3.0. Everything else is accepted and kept.
 */
public final class PickyUpstream implements AutoCloseable {

    /** A message the upstream accepted. */
    public record Accepted(String sender, List<String> recipients, String content) {}

    private final SMTPServer server;
    private final List<Accepted> accepted = new CopyOnWriteArrayList<>();

    public PickyUpstream(HeldCertificate identity) throws IOException {
        TlsServer tls = new TlsServer(identity, TlsVersion.TLS_1_2);
        server = SMTPServer.port(0).bindAddress(InetAddress.getByName("127.0.0.1")).hostName("picky.test")
                .softwareName("picky").insertReceivedHeaders(false).maxMessageSize(10_000_000)
                .enableTLS().requireTLS().startTlsSocketFactory(tls::layerOver)
                .messageHandlerFactory(ctx -> new MessageHandler() {
                    private String from = "";
                    private final List<String> rcpts = new ArrayList<>();

                    @Override
                    public void from(String sender) {
                        from = sender;
                    }

                    @Override
                    public void recipient(String recipient) throws RejectException {
                        if (recipient.startsWith("nobody@")) {
                            throw new RejectException(550, "5.1.1 <" + recipient + ">: no such user");
                        }
                        if (recipient.startsWith("full@")) {
                            throw new RejectException(452, "4.2.2 <" + recipient + ">: mailbox full");
                        }
                        rcpts.add(recipient);
                    }

                    @Override
                    public String data(InputStream data) throws IOException, RejectException {
                        String body = new String(data.readAllBytes(), StandardCharsets.UTF_8);
                        if (body.contains("Subject: spam")) {
                            throw new RejectException(554, "5.7.1 Message rejected as spam");
                        }
                        if (body.contains("Subject: later")) {
                            throw new RejectException(451, "4.3.0 Try again later");
                        }
                        accepted.add(new Accepted(from, List.copyOf(rcpts), body));
                        return "2.0.0 Ok: queued as PICKY" + accepted.size();
                    }

                    @Override
                    public void done() {}
                }).build();
        server.start();
    }

    public int port() {
        return server.getPortAllocated();
    }

    public List<Accepted> accepted() {
        return List.copyOf(accepted);
    }

    /** Waits until at least {@code n} messages were accepted; false on timeout. */
    public boolean await(int n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (accepted.size() < n) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    @Override
    public void close() {
        server.stop();
    }
}
