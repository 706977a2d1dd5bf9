package dev.tlsrelay.support;

import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.HashAlgorithm;
import org.bouncycastle.tls.SignatureAlgorithm;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsServerProtocol;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaDefaultTlsCredentialedSigner;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * A small SMTP server whose every trait is chosen by the test: STARTTLS advertised or not, implicit
 * TLS, AUTH before and after TLS, a server that hangs after its greeting, and TLS either from the
 * JDK-side {@link TlsServer} (TLS 1.2+) or from Bouncy Castle's low-level server speaking only
 * TLS 1.0 and 1.1 (which no JSSE server in this process can), or TLS 1.2 with CBC suites only. Accepts MAIL/RCPT/DATA and keeps
 * nothing. Listens on loopback; every read is bounded.
 */
public final class ScriptedSmtpServer implements AutoCloseable {

    /** How (and whether) this server does TLS. */
    public sealed interface Tls {
        /** No TLS at all. */
        record None() implements Tls {}

        /** JSSE, TLS 1.2 and newer, modern suites: a well-behaved server. */
        record Modern(HeldCertificate identity) implements Tls {}

        /** Bouncy Castle's low-level server, TLS 1.0 and 1.1 only, CBC suites. */
        record LegacyOnly(HeldCertificate identity) implements Tls {}

        /**
         * Bouncy Castle's low-level server, TLS 1.2 only, CBC suites only (no AEAD): the version the
         * relay wants, but none of its suites, like an old appliance.
         */
        record CbcOnlyTls12(HeldCertificate identity) implements Tls {}
    }

    /** What the server does. */
    public record Script(TlsMode mode, Tls tls, boolean advertiseStartTls, boolean hangAfterGreeting,
            List<String> authBeforeTls, List<String> authAfterTls) {

        /** STARTTLS advertised, AUTH PLAIN LOGIN after TLS only. */
        public static Script startTls(Tls tls) {
            return new Script(TlsMode.STARTTLS, tls, true, false, List.of(), List.of("PLAIN", "LOGIN"));
        }

        /** Implicit TLS, AUTH PLAIN LOGIN. */
        public static Script implicit(Tls tls) {
            return new Script(TlsMode.IMPLICIT, tls, false, false, List.of(), List.of("PLAIN", "LOGIN"));
        }

        public Script withoutStartTls() {
            return new Script(mode, tls, false, hangAfterGreeting, authBeforeTls, authAfterTls);
        }

        public Script hangingAfterGreeting() {
            return new Script(mode, tls, advertiseStartTls, true, authBeforeTls, authAfterTls);
        }

        public Script withAuth(List<String> before, List<String> after) {
            return new Script(mode, tls, advertiseStartTls, hangAfterGreeting, before, after);
        }
    }

    private final Script script;
    private final ServerSocket listener;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final List<String> commands = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final TlsServer jsse;
    private volatile boolean closed;

    private ScriptedSmtpServer(Script script, InetAddress bind, int port) throws IOException {
        this.script = script;
        this.jsse = script.tls() instanceof Tls.Modern m ? new TlsServer(m.identity(), TlsVersion.TLS_1_2) : null;
        this.listener = new ServerSocket();
        listener.bind(new InetSocketAddress(bind, port));
        Thread.ofVirtual().name("scripted-smtp-accept").start(this::acceptLoop);
    }

    public static ScriptedSmtpServer start(Script script) throws IOException {
        return new ScriptedSmtpServer(script, InetAddress.getByName("127.0.0.1"), 0);
    }

    /** On a chosen loopback address and port (two servers on 127.0.0.1 and 127.0.0.2 may share a port). */
    public static ScriptedSmtpServer start(Script script, InetAddress bind, int port) throws IOException {
        return new ScriptedSmtpServer(script, bind, port);
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** How many connections were accepted so far. */
    public int connections() {
        return connections.get();
    }

    /** Every command line received, in order, across connections. */
    public List<String> commands() {
        return List.copyOf(commands);
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = listener.accept();
                open.add(s);
                connections.incrementAndGet();
                Thread.ofVirtual().name("scripted-smtp-session").start(() -> session(s));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void session(Socket plain) {
        try (plain) {
            plain.setSoTimeout(20_000);
            Streams s = new Streams(plain.getInputStream(), plain.getOutputStream(), false);
            if (script.mode() == TlsMode.IMPLICIT) {
                s = startTls(plain);
            }
            s.write("220 scripted.test ESMTP ready");
            if (script.hangAfterGreeting()) {
                // Say nothing more until the client gives up (or the test ends).
                while (s.in.read() >= 0) {
                    // discard
                }
                return;
            }
            while (true) {
                String line = s.readLine();
                if (line == null) {
                    return;
                }
                commands.add(line);
                String verb = line.length() >= 4 ? line.substring(0, 4).toUpperCase(Locale.ROOT) : line;
                switch (verb) {
                    case "EHLO" -> s.write(ehlo(s.tls));
                    case "HELO" -> s.write("250 scripted.test");
                    case "STAR" -> {
                        if (!script.advertiseStartTls() || s.tls) {
                            s.write("502 5.5.1 STARTTLS not available");
                        } else {
                            s.write("220 2.0.0 Ready to start TLS");
                            s = startTls(plain);
                        }
                    }
                    case "MAIL", "RCPT", "RSET", "NOOP" -> s.write("250 2.0.0 OK");
                    case "DATA" -> {
                        s.write("354 go ahead");
                        String l;
                        while ((l = s.readLine()) != null && !l.equals(".")) {
                            // discard the body
                        }
                        s.write("250 2.0.0 OK: kept nothing");
                    }
                    case "QUIT" -> {
                        s.write("221 2.0.0 bye");
                        return;
                    }
                    default -> s.write("502 5.5.2 command not recognised");
                }
            }
        } catch (IOException | RuntimeException e) {
            // The client went away or the handshake failed: that is what many tests are about.
        } finally {
            open.remove(plain);
        }
    }

    private String ehlo(boolean tls) {
        List<String> lines = new ArrayList<>();
        lines.add("scripted.test greets you");
        lines.add("PIPELINING");
        lines.add("SIZE 10240000");
        lines.add("8BITMIME");
        if (script.advertiseStartTls() && !tls) {
            lines.add("STARTTLS");
        }
        List<String> auth = tls ? script.authAfterTls() : script.authBeforeTls();
        if (!auth.isEmpty()) {
            lines.add("AUTH " + String.join(" ", auth));
        }
        lines.add("SMTPUTF8");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            if (i > 0) {
                sb.append("\r\n");
            }
            sb.append(i == lines.size() - 1 ? "250 " : "250-").append(lines.get(i));
        }
        return sb.toString();
    }

    private Streams startTls(Socket plain) throws IOException {
        return switch (script.tls()) {
            case Tls.None n -> throw new IOException("this server has no TLS");
            case Tls.Modern m -> {
                SSLSocket ssl = jsse.layerOver(plain);
                ssl.startHandshake();
                yield new Streams(ssl.getInputStream(), ssl.getOutputStream(), true);
            }
            case Tls.LegacyOnly l -> {
                TlsServerProtocol protocol = new TlsServerProtocol(plain.getInputStream(), plain.getOutputStream());
                protocol.accept(new LegacyServer(l.identity(), ProtocolVersion.TLSv11.downTo(ProtocolVersion.TLSv10)));
                yield new Streams(protocol.getInputStream(), protocol.getOutputStream(), true);
            }
            case Tls.CbcOnlyTls12 c -> {
                TlsServerProtocol protocol = new TlsServerProtocol(plain.getInputStream(), plain.getOutputStream());
                protocol.accept(new LegacyServer(c.identity(), ProtocolVersion.TLSv12.only()));
                yield new Streams(protocol.getInputStream(), protocol.getOutputStream(), true);
            }
        };
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        for (Socket s : open) {
            s.close();
        }
    }

    /** One direction pair of a session, plain or under TLS. */
    private static final class Streams {
        final InputStream in;
        final OutputStream out;
        final boolean tls;

        Streams(InputStream in, OutputStream out, boolean tls) {
            this.in = in;
            this.out = out;
            this.tls = tls;
        }

        String readLine() throws IOException {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                if (b == '\n') {
                    String s = buf.toString(StandardCharsets.UTF_8);
                    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
                }
                if (buf.size() > 4096) {
                    throw new IOException("line too long");
                }
                buf.write(b);
            }
            return null;
        }

        void write(String reply) throws IOException {
            out.write((reply + "\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }

    /**
     * Bouncy Castle's low-level TLS server with chosen versions and CBC suites only: it reads no
     * security property, so it can speak TLS 1.0 and 1.1, which every JSSE context in this JVM refuses.
     */
    private static final class LegacyServer extends DefaultTlsServer {
        private final HeldCertificate identity;
        private final ProtocolVersion[] versions;

        LegacyServer(HeldCertificate identity, ProtocolVersion[] versions) {
            super(new JcaTlsCryptoProvider().setProvider(new BouncyCastleProvider()).create(new SecureRandom()));
            this.identity = identity;
            this.versions = versions;
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return versions;
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return new int[] {
                CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
                CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
                CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
            };
        }

        @Override
        protected boolean preferLocalCipherSuites() {
            return true;
        }

        @Override
        public TlsCredentials getCredentials() throws IOException {
            try {
                java.security.cert.X509Certificate[] chain = identity.chain();
                TlsCertificate[] certs = new TlsCertificate[chain.length];
                for (int i = 0; i < chain.length; i++) {
                    certs[i] = getCrypto().createCertificate(chain[i].getEncoded());
                }
                // TLS 1.0/1.1 sign with the version's fixed hash; TLS 1.2 names it (ECDSA P-256 with SHA-256).
                SignatureAndHashAlgorithm sigAndHash = ProtocolVersion.TLSv12.equals(context.getServerVersion())
                        ? SignatureAndHashAlgorithm.getInstance(HashAlgorithm.sha256, SignatureAlgorithm.ecdsa) : null;
                return new JcaDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), (JcaTlsCrypto) getCrypto(),
                        identity.keyPair().getPrivate(), new Certificate(certs), sigAndHash);
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IOException(e);
            }
        }
    }
}
