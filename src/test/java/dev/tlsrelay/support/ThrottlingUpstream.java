package dev.tlsrelay.support;

import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.server.SMTPServer;

/**
 * A real STARTTLS upstream that answers Amazon SES' throttling reply to the first {@code refusals}
 * MAIL commands, then accepts and keeps every message (bodies recorded to find losses and duplicates).
 */
public final class ThrottlingUpstream implements AutoCloseable {

    public static final String SES_THROTTLING = "Throttling failure: Maximum sending rate exceeded.";

    private final SMTPServer server;
    private final AtomicInteger refusalsLeft;
    private final List<String> bodies = new CopyOnWriteArrayList<>();

    public ThrottlingUpstream(HeldCertificate identity, int refusals) throws IOException {
        this.refusalsLeft = new AtomicInteger(refusals);
        TlsServer tls = new TlsServer(identity, TlsVersion.TLS_1_2);
        server = SMTPServer.port(0).bindAddress(InetAddress.getByName("127.0.0.1")).hostName("ses.test")
                .softwareName("ses").insertReceivedHeaders(false).maxMessageSize(10_000_000)
                .enableTLS().requireTLS().startTlsSocketFactory(tls::layerOver)
                .messageHandlerFactory(ctx -> new MessageHandler() {
                    @Override
                    public void from(String sender) throws RejectException {
                        if (refusalsLeft.getAndDecrement() > 0) {
                            throw new RejectException(454, SES_THROTTLING);
                        }
                    }

                    @Override
                    public void recipient(String recipient) {}

                    @Override
                    public String data(InputStream data) throws IOException {
                        bodies.add(new String(data.readAllBytes(), StandardCharsets.UTF_8));
                        return "2.0.0 Ok " + bodies.size();
                    }

                    @Override
                    public void done() {}
                }).build();
        server.start();
    }

    public int port() {
        return server.getPortAllocated();
    }

    /** Every body accepted, in order. */
    public List<String> bodies() {
        return List.copyOf(bodies);
    }

    @Override
    public void close() {
        server.stop();
    }
}
