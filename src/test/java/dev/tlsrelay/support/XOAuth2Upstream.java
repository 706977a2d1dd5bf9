package dev.tlsrelay.support;

import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.subethamail.smtp.AuthenticationHandler;
import org.subethamail.smtp.AuthenticationHandlerFactory;
import org.subethamail.smtp.MessageContext;
import org.subethamail.smtp.MessageHandler;
import org.subethamail.smtp.RejectException;
import org.subethamail.smtp.auth.LoginAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.LoginFailedException;
import org.subethamail.smtp.auth.MultipleAuthenticationHandlerFactory;
import org.subethamail.smtp.auth.PlainAuthenticationHandlerFactory;
import org.subethamail.smtp.server.SMTPServer;

/**
 * A smarthost like Microsoft 365 or Gmail as far as OAuth goes: STARTTLS required, then
 * {@code AUTH XOAUTH2} (the only mechanism offered, unless started {@link #withPasswordToo}) with
 * {@code user=MAILBOX^Aauth=Bearer TOKEN^A^A},
 * accepted only while the token is currently valid at the provider. A refusal looks like
 * Microsoft's ({@code 535 5.7.3}) or Google's (a {@code 334} challenge carrying a base64 JSON
 * error, then {@code 535 5.7.8}). Keeps every AUTH attempt and every message.
 */
public final class XOAuth2Upstream implements AutoCloseable {

    /** Whose refusal to imitate. */
    public enum Style { MICROSOFT, GOOGLE }

    /** One AUTH XOAUTH2: who, with which token, what the token was at that moment. */
    public record Attempt(Instant at, String user, String token, OAuthProvider.Status status) {
        public boolean accepted() {
            return status == OAuthProvider.Status.VALID;
        }
    }

    /** One message taken, with the identity that authenticated for it. */
    public record Received(String from, List<String> to, String authUser, byte[] body) {}

    private final SMTPServer server;
    private final List<Attempt> attempts = new CopyOnWriteArrayList<>();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final List<String> mechanismsUsed = new CopyOnWriteArrayList<>();

    private XOAuth2Upstream(HeldCertificate identity, String mailbox, Function<String, OAuthProvider.Status> tokens,
            Style style, Optional<String> password) {
        TlsServer tls = new TlsServer(identity, TlsVersion.TLS_1_2);
        AuthenticationHandlerFactory xoauth2 = new AuthenticationHandlerFactory() {
            @Override
            public List<String> getAuthenticationMechanisms() {
                return List.of("XOAUTH2");
            }

            @Override
            public AuthenticationHandler create() {
                return new AuthenticationHandler() {
                    private String identity;
                    private boolean challenged;

                    @Override
                    public Optional<String> auth(String clientInput, MessageContext context) throws RejectException {
                        if (challenged) {
                            // The client's (empty) answer to Google's error challenge.
                            throw new RejectException(535, "5.7.8 Username and Password not accepted.");
                        }
                        String[] words = clientInput.trim().split(" ");
                        if (words.length != 3) {
                            throw new RejectException(501, "5.5.2 XOAUTH2 needs an initial response");
                        }
                        String decoded = new String(Base64.getDecoder().decode(words[2]), StandardCharsets.UTF_8);
                        String user = "";
                        String token = "";
                        for (String part : decoded.split("\u0001")) {
                            if (part.startsWith("user=")) {
                                user = part.substring(5);
                            } else if (part.startsWith("auth=Bearer ")) {
                                token = part.substring(12);
                            }
                        }
                        OAuthProvider.Status status = tokens.apply(token);
                        Attempt a = new Attempt(Instant.now(), user, token, status);
                        attempts.add(a);
                        if (a.accepted() && user.equals(mailbox)) {
                            identity = user;
                            return Optional.empty();
                        }
                        if (style == Style.GOOGLE) {
                            challenged = true;
                            String json = "{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}";
                            return Optional.of("334 " + Base64.getEncoder().encodeToString(
                                    json.getBytes(StandardCharsets.UTF_8)));
                        }
                        throw new RejectException(535, "5.7.3 Authentication unsuccessful");
                    }

                    @Override
                    public Object getIdentity() {
                        return identity;
                    }
                };
            }
        };
        AuthenticationHandlerFactory offered = password.<AuthenticationHandlerFactory>map(
                p -> new MultipleAuthenticationHandlerFactory(List.of(
                        new PlainAuthenticationHandlerFactory((u, pw, ctx) -> checkPassword(mailbox, p, u, pw)),
                        new LoginAuthenticationHandlerFactory((u, pw, ctx) -> checkPassword(mailbox, p, u, pw)),
                        xoauth2)))
                .orElse(xoauth2);
        this.server = SMTPServer.port(0).bindAddress(InetAddress.getLoopbackAddress())
                .hostName("smtp.oauth.test").softwareName("xoauth2 test upstream")
                .maxMessageSize(10 * 1024 * 1024)
                .connectionTimeout(30, TimeUnit.SECONDS)
                .executorService(Executors.newVirtualThreadPerTaskExecutor())
                .enableTLS().requireTLS().startTlsSocketFactory(tls::layerOver)
                .requireAuth().authenticationHandlerFactory(recordingMechanism(offered))
                .messageHandlerFactory(ctx -> new MessageHandler() {
                    private String from;
                    private final List<String> to = new CopyOnWriteArrayList<>();

                    @Override
                    public void from(String f) {
                        from = f;
                    }

                    @Override
                    public void recipient(String r) {
                        to.add(r);
                    }

                    @Override
                    public String data(InputStream data) throws java.io.IOException {
                        byte[] body = data.readAllBytes();
                        String who = ctx.getAuthenticationHandler().map(h -> String.valueOf(h.getIdentity()))
                                .orElse("");
                        received.add(new Received(from, List.copyOf(to), who, body));
                        return "2.6.0 Queued mail for delivery";
                    }

                    @Override
                    public void done() {}
                }).build();
    }

    private static void checkPassword(String mailbox, String password, String user, String given)
            throws LoginFailedException {
        if (!mailbox.equals(user) || !password.equals(given)) {
            throw new LoginFailedException("5.7.8 Username and Password not accepted.");
        }
    }

    /** Notes the mechanism named by each {@code AUTH} command, then lets {@code factory} handle it. */
    private AuthenticationHandlerFactory recordingMechanism(AuthenticationHandlerFactory factory) {
        return new AuthenticationHandlerFactory() {
            @Override
            public List<String> getAuthenticationMechanisms() {
                return factory.getAuthenticationMechanisms();
            }

            @Override
            public AuthenticationHandler create() {
                AuthenticationHandler delegate = factory.create();
                return new AuthenticationHandler() {
                    @Override
                    public Optional<String> auth(String clientInput, MessageContext context) throws RejectException {
                        String[] words = clientInput.trim().split(" ");
                        if (words.length >= 2 && words[0].equalsIgnoreCase("AUTH")) {
                            mechanismsUsed.add(words[1].toUpperCase(java.util.Locale.ROOT));
                        }
                        return delegate.auth(clientInput, context);
                    }

                    @Override
                    public Object getIdentity() {
                        return delegate.getIdentity();
                    }
                };
            }
        };
    }

    /**
     * @param mailbox the only {@code user=} accepted
     * @param tokens  the provider that knows whether a token is valid now
     */
    public static XOAuth2Upstream start(HeldCertificate identity, String mailbox, OAuthProvider tokens, Style style) {
        XOAuth2Upstream u = new XOAuth2Upstream(identity, mailbox, tokens::status, style, Optional.empty());
        u.server.start();
        return u;
    }

    /**
     * Like a real Microsoft 365 or Gmail endpoint: {@code AUTH PLAIN LOGIN XOAUTH2}, taking
     * {@code mailbox} with {@code password} over PLAIN and LOGIN as well as its tokens.
     */
    public static XOAuth2Upstream withPasswordToo(HeldCertificate identity, String mailbox, String password,
            OAuthProvider tokens) {
        XOAuth2Upstream u = new XOAuth2Upstream(identity, mailbox, tokens::status, Style.MICROSOFT,
                Optional.of(password));
        u.server.start();
        return u;
    }

    /** The mechanism of every AUTH command received, upper case, in order. */
    public List<String> mechanismsUsed() {
        return List.copyOf(mechanismsUsed);
    }

    public int port() {
        return server.getPortAllocated();
    }

    public List<Attempt> attempts() {
        return List.copyOf(attempts);
    }

    public List<Received> received() {
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
}
