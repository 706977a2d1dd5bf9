package dev.tlsrelay.catcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.auth.EasyAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.LoginFailedException;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.smtp.server.Session;

/**
 * A small SMTP server that accepts mail only over TLS and keeps it: each message becomes
 * {@code NNNN.eml} (the bytes as received) and {@code NNNN.json} (envelope, client, TLS facts, size,
 * SHA-256). In STARTTLS mode it refuses MAIL before STARTTLS: a catcher that took plaintext would
 * hide the very failure the relay exists to prevent.
 */
public final class Catcher implements AutoCloseable {

    /** Largest message the catcher keeps. */
    public static final int MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * How to run a catcher.
     *
     * @param auth user name and password clients must AUTH with (after TLS), if any
     */
    public record Options(InetSocketAddress listen, TlsMode security, TlsServer tls, Path dir,
            Optional<Credentials> auth) {}

    /** AUTH credentials the catcher requires. */
    public record Credentials(String username, String password) {
        @Override
        public String toString() {
            return "Credentials[" + username + ", ********]";
        }
    }

    private final Options options;
    private final SMTPServer server;
    private final AtomicInteger counter;
    private final List<CaughtMessage> received = new CopyOnWriteArrayList<>();
    private final List<Consumer<CaughtMessage>> listeners = new CopyOnWriteArrayList<>();

    private Catcher(Options options) throws IOException {
        this.options = options;
        Files.createDirectories(options.dir());
        this.counter = new AtomicInteger(highestNumber(options.dir()));
        SMTPServer.Builder b = SMTPServer.port(options.listen().getPort())
                .bindAddress(options.listen().getAddress())
                .hostName("catcher.tlsrelay.localhost")
                .softwareName("tlsrelay catcher")
                .insertReceivedHeaders(false)
                .maxMessageSize(MAX_MESSAGE_SIZE)
                .maxConnections(50)
                .connectionTimeout(60, TimeUnit.SECONDS)
                .executorService(Executors.newVirtualThreadPerTaskExecutor())
                .messageHandlerFactory(ctx -> new Handler(ctx));
        if (options.security() == TlsMode.STARTTLS) {
            b.enableTLS().requireTLS().startTlsSocketFactory(options.tls()::layerOver);
        } else {
            b.serverSocketFactory(() -> options.tls().newServerSocket());
        }
        options.auth().ifPresent(c -> b.requireAuth().authenticationHandlerFactory(
                new EasyAuthenticationHandlerFactory((user, password, ctx) -> {
                    if (!c.username().equals(user) || !c.password().equals(password)) {
                        throw new LoginFailedException("bad user name or password");
                    }
                })));
        this.server = b.build();
    }

    /**
     * Starts a catcher.
     *
     * @throws BindException if the address is in use
     */
    public static Catcher start(Options options) throws IOException {
        Catcher c = new Catcher(options);
        try {
            c.server.start();
        } catch (RuntimeException e) {
            if (e.getCause() instanceof BindException be) {
                throw be;
            }
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e;
        }
        return c;
    }

    /** The port actually listened on (useful with port 0). */
    public int port() {
        return server.getPortAllocated();
    }

    public Options options() {
        return options;
    }

    /** Called for each message once it is saved. */
    public void onMessage(Consumer<CaughtMessage> listener) {
        listeners.add(listener);
    }

    /** Messages received since start, in order. */
    public List<CaughtMessage> received() {
        return List.copyOf(received);
    }

    /** Waits until at least {@code count} messages arrived; false on timeout. */
    public boolean awaitMessages(int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (received.size() < count) {
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

    private static int highestNumber(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.matches("\\d{4,}\\.eml"))
                    .mapToInt(n -> Integer.parseInt(n.substring(0, n.length() - 4)))
                    .max().orElse(0);
        }
    }

    /** One SMTP transaction. */
    private final class Handler implements MessageHandler {
        private final MessageContext ctx;
        private String from = "";
        private final List<String> recipients = new ArrayList<>();

        Handler(MessageContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void from(String sender) {
            this.from = sender;
        }

        @Override
        public void recipient(String recipient) {
            recipients.add(recipient);
        }

        @Override
        public String data(InputStream data) throws IOException, RejectException {
            Optional<SSLSession> tls = tlsSession();
            if (tls.isEmpty()) {
                // Unreachable with requireTLS/implicit TLS; kept so plaintext can never be saved.
                drain(data);
                throw new RejectException(530, "5.7.0 TLS required");
            }
            int n = counter.incrementAndGet();
            Path dir = options.dir();
            String base = String.format("%04d", n);
            Path tmp = Files.createTempFile(dir, "." + base, ".part");
            MessageDigest sha;
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            long size;
            try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), sha)) {
                size = data.transferTo(out);
            } catch (IOException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Path eml = dir.resolve(base + ".eml");
            Path facts = dir.resolve(base + ".json");
            Optional<String> user = ctx.getAuthenticationHandler().map(h -> h.getIdentity())
                    .map(String::valueOf);
            CaughtMessage m = new CaughtMessage(n, Instant.now(), eml, facts, from, recipients,
                    ((InetSocketAddress) ctx.getRemoteAddress()).getAddress().getHostAddress(),
                    tls.get().getProtocol(), tls.get().getCipherSuite(), user, size,
                    HexFormat.of().formatHex(sha.digest()));
            writeFacts(m);
            Files.move(tmp, eml, StandardCopyOption.ATOMIC_MOVE);
            received.add(m);
            listeners.forEach(l -> l.accept(m));
            return "2.0.0 Ok: caught as " + base;
        }

        private Optional<SSLSession> tlsSession() {
            if (ctx instanceof Session s && s.getSocket() instanceof SSLSocket ssl) {
                return Optional.of(ssl.getSession());
            }
            return Optional.empty();
        }

        @Override
        public void done() {}
    }

    private static void writeFacts(CaughtMessage m) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("number", m.number());
        o.put("received_at", m.at().toString());
        o.put("mail_from", m.mailFrom());
        m.recipients().forEach(o.putArray("rcpt_to")::add);
        o.put("client", m.client());
        o.put("tls_protocol", m.tlsProtocol());
        o.put("tls_cipher", m.tlsCipher());
        if (m.authUser().isPresent()) {
            o.put("auth_user", m.authUser().get());
        } else {
            o.putNull("auth_user");
        }
        o.put("size", m.size());
        o.put("sha256", m.sha256());
        o.put("eml", m.eml().getFileName().toString());
        Path tmp = m.facts().resolveSibling("." + m.facts().getFileName() + ".part");
        Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n",
                StandardCharsets.UTF_8);
        Files.move(tmp, m.facts(), StandardCopyOption.ATOMIC_MOVE);
    }

    private static void drain(InputStream in) {
        try {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
