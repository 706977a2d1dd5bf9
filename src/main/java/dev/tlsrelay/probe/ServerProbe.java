package dev.tlsrelay.probe;

import dev.tlsrelay.probe.ProbeReport.Step;
import dev.tlsrelay.tls.FailureCode;
import dev.tlsrelay.tls.ProbedVersion;
import dev.tlsrelay.tls.ServerIdentity;
import dev.tlsrelay.tls.TlsClient;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsNegotiation;
import dev.tlsrelay.tls.TlsVersionProbe;
import dev.tlsrelay.tls.VersionProbeResult;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLSocket;

/**
 * Probes one SMTP server the way {@code posttls-finger} does, with the relay's own TLS code: first
 * one connection exactly as the relay would make it (greeting, EHLO, STARTTLS, the relay's handshake
 * and verification, EHLO again), then one connection per TLS version, each offered on its own.
 * Connections are made one after another, never in parallel: mail servers limit connections per
 * client. Nothing but EHLO, STARTTLS and QUIT is ever sent; no mail, no AUTH.
 *
 * <p>Every read is bounded by the policy's handshake timeout, and every connection as a whole by
 * {@link #CONNECTION_BUDGET} timeouts, so a server that trickles bytes cannot hold the probe.
 */
public final class ServerProbe {

    /** A whole connection may take this many timeouts before it is cut. */
    static final int CONNECTION_BUDGET = 4;

    private final ProbeRequest request;
    private final TlsClient tls;
    private final TlsVersionProbe versionProbe;
    private final Duration timeout;

    /**
     * @throws GeneralSecurityException if the policy's trust anchors cannot be used
     */
    public ServerProbe(ProbeRequest request) throws GeneralSecurityException {
        this.request = request;
        this.tls = new TlsClient(request.policy());
        this.versionProbe = new TlsVersionProbe(request.policy());
        this.timeout = request.policy().handshakeTimeout();
    }

    /** Runs the probe; never throws for anything the server does. */
    public ProbeReport run() {
        Instant at = Instant.now();
        Attempt a = new Attempt(at);
        relayConnection(a);
        List<VersionProbeResult> versions = new ArrayList<>();
        boolean reachedTls = a.failedAt.isEmpty() || a.failedAt.get() == Step.HANDSHAKE
                || a.failedAt.get() == Step.EHLO_AFTER_TLS;
        if (reachedTls) {
            for (ProbedVersion v : ProbedVersion.values()) {
                versions.add(offer(v));
            }
        }
        Optional<ServerIdentity> identity = a.identity.or(() -> versions.stream()
                .filter(v -> v.identity().isPresent())
                .max(Comparator.comparing(VersionProbeResult::version))
                .flatMap(VersionProbeResult::identity));
        Instant now = Instant.now();
        List<CertificateDetail> chain = identity.map(id -> id.certificates().stream()
                .map(c -> CertificateDetail.of(c, now)).toList()).orElse(List.of());
        TlsNegotiation negotiation = a.negotiation.orElseGet(() -> TlsClient.failedBeforeHandshake(request.host(),
                request.port(), request.mode(), at, FailureCode.HANDSHAKE_FAILED, "no TLS handshake was attempted"));
        ProbeReport facts = new ProbeReport(request, at, a.failedAt, a.connectedTo, a.greeting, a.beforeTls,
                a.startTls, negotiation, a.afterTls, versions, identity, chain, List.of());
        return new ProbeReport(request, at, a.failedAt, a.connectedTo, a.greeting, a.beforeTls, a.startTls,
                negotiation, a.afterTls, versions, identity, chain, Verdicts.judge(facts, now));
    }

    /** What the relay's own connection attempt saw, filled in step by step. */
    private static final class Attempt {
        final Instant start;
        Step step = Step.CONNECT;
        Optional<Step> failedAt = Optional.empty();
        Optional<String> connectedTo = Optional.empty();
        Optional<String> greeting = Optional.empty();
        Optional<Capabilities> beforeTls = Optional.empty();
        Optional<String> startTls = Optional.empty();
        Optional<TlsNegotiation> negotiation = Optional.empty();
        Optional<Capabilities> afterTls = Optional.empty();
        Optional<ServerIdentity> identity = Optional.empty();

        Attempt(Instant start) {
            this.start = start;
        }
    }

    private void relayConnection(Attempt a) {
        Socket socket;
        try {
            socket = connect();
        } catch (IOException e) {
            stop(a, connectFailure(e), describeConnectFailure(e));
            return;
        }
        a.connectedTo = Optional.of(socket.getInetAddress().getHostAddress() + ":" + socket.getPort());
        try (socket; Watchdog watchdog = new Watchdog(socket, timeout.multipliedBy(CONNECTION_BUDGET))) {
            try {
                SmtpConversation smtp = new SmtpConversation(socket.getInputStream(), socket.getOutputStream());
                if (request.mode() == TlsMode.IMPLICIT && !handshake(a, socket, smtp)) {
                    return;
                }
                a.step = Step.GREETING;
                SmtpConversation.Reply greeting = smtp.reply();
                a.greeting = Optional.of(greeting.oneLine());
                if (greeting.code() != 220) {
                    stop(a, FailureCode.CONNECT_FAILED, "the server refused the session: " + greeting.oneLine());
                    return;
                }
                a.step = Step.EHLO;
                SmtpConversation.Reply ehlo = smtp.command("EHLO " + request.heloName());
                if (ehlo.code() != 250) {
                    stop(a, FailureCode.CONNECT_FAILED, "the server refused EHLO: " + ehlo.oneLine());
                    return;
                }
                Capabilities caps = Capabilities.fromEhlo(ehlo.lines());
                if (request.mode() == TlsMode.IMPLICIT) {
                    a.afterTls = Optional.of(caps);
                } else {
                    a.beforeTls = Optional.of(caps);
                    a.step = Step.STARTTLS;
                    if (!caps.startTls()) {
                        stop(a, FailureCode.STARTTLS_NOT_OFFERED, "the server's EHLO reply does not list STARTTLS");
                        quietly(smtp);
                        return;
                    }
                    SmtpConversation.Reply starttls = smtp.command("STARTTLS");
                    a.startTls = Optional.of(starttls.oneLine());
                    if (starttls.code() != 220) {
                        stop(a, FailureCode.STARTTLS_NOT_OFFERED, "the server advertised STARTTLS but answered "
                                + starttls.oneLine());
                        quietly(smtp);
                        return;
                    }
                    if (!handshake(a, socket, smtp)) {
                        return;
                    }
                    a.step = Step.EHLO_AFTER_TLS;
                    SmtpConversation.Reply again = smtp.command("EHLO " + request.heloName());
                    if (again.code() != 250) {
                        stop(a, FailureCode.CONNECT_FAILED, "the server refused EHLO after TLS: " + again.oneLine());
                        return;
                    }
                    a.afterTls = Optional.of(Capabilities.fromEhlo(again.lines()));
                }
                quietly(smtp);
            } catch (IOException e) {
                boolean timedOut = watchdog.fired() || isTimeout(e);
                stop(a, timedOut ? FailureCode.TIMEOUT : FailureCode.CONNECT_FAILED,
                        (timedOut ? "no answer within " + seconds(watchdog.fired() ? timeout.multipliedBy(
                                CONNECTION_BUDGET) : timeout) : TlsClient.describe(e))
                                + " (" + whileDoing(a.step) + ")");
            }
        } catch (IOException e) {
            // Closing failed: the facts are in already.
        }
    }

    /** The relay's own handshake and verification, over the connected socket. */
    private boolean handshake(Attempt a, Socket socket, SmtpConversation smtp) throws IOException {
        a.step = Step.HANDSHAKE;
        TlsClient.ConnectionTls connectionTls = tls.forConnection(request.host(), request.port(), request.mode());
        SSLSocket ssl = (SSLSocket) connectionTls.createSocket(socket, request.host(), request.port(), true);
        try {
            ssl.startHandshake();
            if (!connectionTls.verify(request.host(), ssl.getSession())) {
                throw new IOException("the server's certificate was not verified");
            }
        } catch (IOException e) {
            a.negotiation = Optional.of(connectionTls.failed(e));
            a.identity = connectionTls.identity();
            a.failedAt = Optional.of(Step.HANDSHAKE);
            return false;
        }
        a.negotiation = connectionTls.negotiation();
        a.identity = connectionTls.identity();
        smtp.switchTo(ssl.getInputStream(), ssl.getOutputStream());
        return true;
    }

    /** One connection offering exactly one version; STARTTLS first when the mode needs it. */
    private VersionProbeResult offer(ProbedVersion version) {
        Instant start = Instant.now();
        Socket socket;
        try {
            socket = connect();
        } catch (IOException e) {
            return noAnswer(version, start, "cannot connect: " + describeConnectFailure(e));
        }
        Watchdog watchdog = new Watchdog(socket, timeout.multipliedBy(CONNECTION_BUDGET));
        try {
            if (request.mode() == TlsMode.STARTTLS) {
                try {
                    SmtpConversation smtp = new SmtpConversation(socket.getInputStream(), socket.getOutputStream());
                    SmtpConversation.Reply greeting = smtp.reply();
                    SmtpConversation.Reply ehlo = greeting.code() == 220 ? smtp.command("EHLO " + request.heloName())
                            : greeting;
                    SmtpConversation.Reply starttls = ehlo.code() == 250 ? smtp.command("STARTTLS") : ehlo;
                    if (starttls.code() != 220) {
                        closeQuietly(socket);
                        return noAnswer(version, start, "STARTTLS was not accepted this time: " + starttls.oneLine());
                    }
                } catch (IOException e) {
                    closeQuietly(socket);
                    return noAnswer(version, start, watchdog.fired() ? budgetSpent()
                            : "the SMTP dialogue before TLS failed: " + TlsClient.describe(e));
                }
            }
            VersionProbeResult result = versionProbe.offer(socket, request.host(), version);
            return watchdog.fired() && !result.accepted() ? noAnswer(version, start, budgetSpent()) : result;
        } finally {
            watchdog.close();
        }
    }

    private String budgetSpent() {
        return "no complete answer within " + seconds(timeout.multipliedBy(CONNECTION_BUDGET));
    }

    private Socket connect() throws IOException {
        InetSocketAddress where = request.address()
                .map(addr -> new InetSocketAddress(addr, request.port()))
                .orElseGet(() -> new InetSocketAddress(unbracketed(request.host()), request.port()));
        if (where.isUnresolved()) {
            throw new UnknownHostException(request.host());
        }
        Socket s = new Socket();
        try {
            s.connect(where, (int) timeout.toMillis());
            s.setSoTimeout((int) timeout.toMillis());
        } catch (IOException e) {
            closeQuietly(s);
            throw e;
        }
        return s;
    }

    private void stop(Attempt a, FailureCode code, String detail) {
        a.failedAt = Optional.of(a.step);
        a.negotiation = Optional.of(TlsClient.failedBeforeHandshake(request.host(), request.port(), request.mode(),
                a.start, code, detail));
    }

    private static FailureCode connectFailure(IOException e) {
        return e instanceof SocketTimeoutException ? FailureCode.TIMEOUT : FailureCode.CONNECT_FAILED;
    }

    private String describeConnectFailure(IOException e) {
        return switch (e) {
            case UnknownHostException u -> request.host() + " does not resolve to an address";
            case SocketTimeoutException t -> "no connection within " + seconds(timeout);
            case ConnectException c -> "connection refused: nothing is listening on " + request.target();
            case NoRouteToHostException n -> "no route to " + request.host();
            default -> TlsClient.describe(e);
        };
    }

    private static String whileDoing(Step step) {
        return switch (step) {
            case CONNECT -> "while connecting";
            case GREETING -> "waiting for the greeting";
            case EHLO -> "waiting for the reply to EHLO";
            case STARTTLS -> "waiting for the reply to STARTTLS";
            case HANDSHAKE -> "during the TLS handshake";
            case EHLO_AFTER_TLS -> "waiting for the reply to EHLO after TLS";
        };
    }

    private VersionProbeResult noAnswer(ProbedVersion version, Instant start, String detail) {
        return new VersionProbeResult(version, VersionProbeResult.Answer.NO_ANSWER, Optional.empty(),
                Optional.of(detail), Optional.empty(), Duration.between(start, Instant.now()));
    }

    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private static String unbracketed(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /** QUIT, best effort: the facts are in, a server that does not answer QUIT changes nothing. */
    private static void quietly(SmtpConversation smtp) {
        try {
            smtp.command("QUIT");
        } catch (IOException | RuntimeException ignored) {
            // Nothing left to learn from this connection.
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // Already done with it.
        }
    }

    /** Closes a socket when a connection's whole budget is spent, whatever it is waiting for. */
    private static final class Watchdog implements AutoCloseable {
        private final Thread thread;
        private volatile boolean fired;

        Watchdog(Socket socket, Duration budget) {
            thread = Thread.ofVirtual().name("tlsrelay-probe-watchdog").start(() -> {
                try {
                    Thread.sleep(budget);
                    fired = true;
                    closeQuietly(socket);
                } catch (InterruptedException e) {
                    // The connection finished in time.
                }
            });
        }

        boolean fired() {
            return fired;
        }

        @Override
        public void close() {
            thread.interrupt();
        }
    }
}
