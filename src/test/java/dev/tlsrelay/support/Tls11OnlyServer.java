package dev.tlsrelay.support;

import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.TlsMode;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsCredentialedDecryptor;
import org.bouncycastle.tls.TlsServerProtocol;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;
import org.bouncycastle.tls.crypto.impl.jcajce.JceDefaultTlsCredentialedDecryptor;

/**
 * A real server that speaks TLS 1.1 and nothing newer, like an old appliance or a badly kept MTA.
 * Such servers meet a TLS 1.2+ client in one of two ways, see {@link Behaviour}; both must end in
 * {@code protocol_version} on the relay's side.
 *
 * <p>No JSSE provider can be made to serve TLS 1.1 in this JVM (see LIBRARY-NOTES, "Legacy TLS
 * 1.0/1.1"), so this uses Bouncy Castle's low-level TLS API, which reads no security property, or
 * raw TLS records. In STARTTLS mode it speaks just enough plaintext SMTP to offer STARTTLS (and
 * refuses anything else with 530); in implicit mode TLS starts at once. It never speaks SMTP over
 * TLS: a relay that respects its TLS 1.2 floor never gets that far. Its certificate is RSA (for
 * plain RSA key exchange) and otherwise fully valid for 127.0.0.1 under the given CA, so the
 * protocol version is the only thing wrong with it.
 */
public final class Tls11OnlyServer implements AutoCloseable {

    private static final BouncyCastleProvider BC = new BouncyCastleProvider();

    /** How the server reacts to a ClientHello that offers only TLS 1.2 and 1.3. */
    public enum Behaviour {
        /**
         * A TLS library that knows the {@code supported_versions} extension (OpenSSL 1.1.1+ with
         * a TLS 1.1 ceiling, say) finds no common version and sends a {@code protocol_version}
         * alert. Bouncy Castle's low-level server, which can also complete a TLS 1.1 handshake.
         */
        ALERTS_PROTOCOL_VERSION,
        /**
         * A pre-TLS-1.3 implementation ignores {@code supported_versions}, reads the ClientHello's
         * legacy version (TLS 1.2), and answers with a ServerHello for its own best, TLS 1.1. The
         * client must refuse that version itself. Written as raw records: no TLS library will send
         * a ServerHello for a version the client did not offer.
         */
        ANSWERS_TLS11_SERVER_HELLO
    }

    private final ServerSocket listener;
    private final TlsMode mode;
    private final Behaviour behaviour;
    private final List<Integer> alertsReceived = new CopyOnWriteArrayList<>();
    private final List<String> plaintextCommands = new CopyOnWriteArrayList<>();
    private final JcaTlsCrypto crypto;
    private final X509Certificate certificate;
    private final PrivateKey key;
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger completed = new AtomicInteger();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();

    private Tls11OnlyServer(ServerSocket listener, TlsMode mode, Behaviour behaviour, X509Certificate certificate,
            PrivateKey key) {
        this.listener = listener;
        this.mode = mode;
        this.behaviour = behaviour;
        this.certificate = certificate;
        this.key = key;
        this.crypto = (JcaTlsCrypto) new JcaTlsCryptoProvider().setProvider(BC).create(new SecureRandom());
    }

    /** Listens on 127.0.0.1, with an RSA certificate for localhost/127.0.0.1 signed by {@code ca}. */
    public static Tls11OnlyServer start(TlsMode mode, Behaviour behaviour, HeldCertificate ca) throws IOException,
            GeneralSecurityException {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA", BC);
        gen.initialize(2048);
        KeyPair keys = gen.generateKeyPair();
        X509Certificate cert = rsaLeaf(keys, ca);
        ServerSocket ss = new ServerSocket();
        ss.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Tls11OnlyServer server = new Tls11OnlyServer(ss, mode, behaviour, cert, keys.getPrivate());
        Thread.ofVirtual().name("tls11-server").start(server::acceptLoop);
        return server;
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** TCP connections accepted so far. */
    public int connections() {
        return connections.get();
    }

    /** Handshakes that completed (with a client willing to speak TLS 1.1). */
    public int completedHandshakes() {
        return completed.get();
    }

    /** SMTP command lines received before TLS (STARTTLS mode), in order. */
    public List<String> plaintextCommands() {
        return List.copyOf(plaintextCommands);
    }

    /**
     * Alert descriptions the client sent in answer to a {@link Behaviour#ANSWERS_TLS11_SERVER_HELLO}
     * ServerHello (70 is {@code protocol_version}).
     */
    public List<Integer> alertsReceived() {
        return List.copyOf(alertsReceived);
    }

    /** Why handshakes failed, on this side. */
    public List<Throwable> failures() {
        return List.copyOf(failures);
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            connections.incrementAndGet();
            Thread.ofVirtual().start(() -> handshake(s));
        }
    }

    private void handshake(Socket s) {
        try (s) {
            s.setSoTimeout(10_000);
            if (mode == TlsMode.STARTTLS && !plaintextUntilStartTls(s.getInputStream(), s.getOutputStream())) {
                return;
            }
            if (behaviour == Behaviour.ANSWERS_TLS11_SERVER_HELLO) {
                answerWithTls11ServerHello(s.getInputStream(), s.getOutputStream());
                return;
            }
            TlsServerProtocol protocol = new TlsServerProtocol(s.getInputStream(), s.getOutputStream());
            protocol.accept(new Tls11Server());
            completed.incrementAndGet();
            protocol.close();
        } catch (IOException | RuntimeException e) {
            failures.add(e);
        }
    }

    /**
     * Reads the ClientHello record, answers with a TLS 1.1 ServerHello, and records the alert the
     * client sends back. The cipher suite is one every TLS 1.2 client of ours offers
     * (ECDHE-ECDSA-AES128-GCM-SHA256): only the version is wrong.
     */
    private void answerWithTls11ServerHello(InputStream in, OutputStream out) throws IOException {
        DataInputStream data = new DataInputStream(in);
        byte[] header = new byte[5];
        data.readFully(header);
        if (header[0] != 22) { // handshake
            throw new IOException("expected a ClientHello record, got content type " + header[0]);
        }
        data.readFully(new byte[((header[3] & 0xff) << 8) | (header[4] & 0xff)]);

        ByteArrayOutputStream hello = new ByteArrayOutputStream();
        hello.write(new byte[] {3, 2}); // server_version TLS 1.1
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        hello.write(random);
        hello.write(0); // empty session id
        hello.write(new byte[] {(byte) 0xc0, 0x2b}); // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        hello.write(0); // no compression; no extensions
        byte[] body = hello.toByteArray();
        ByteArrayOutputStream record = new ByteArrayOutputStream();
        record.write(new byte[] {22, 3, 2, 0, (byte) (body.length + 4)});
        record.write(new byte[] {2, 0, 0, (byte) body.length}); // handshake type server_hello
        record.write(body);
        out.write(record.toByteArray());
        out.flush();

        while (true) {
            try {
                data.readFully(header);
            } catch (EOFException closed) {
                return;
            }
            byte[] fragment = new byte[((header[3] & 0xff) << 8) | (header[4] & 0xff)];
            data.readFully(fragment);
            if (header[0] == 21 && fragment.length == 2) { // plaintext alert: level, description
                alertsReceived.add(fragment[1] & 0xff);
            }
        }
    }

    /** The plaintext part of a STARTTLS session; true when the client asked for STARTTLS. */
    private boolean plaintextUntilStartTls(InputStream in, OutputStream out) throws IOException {
        SmtpLines.reply(out, "220 legacy.test ESMTP");
        while (true) {
            String line = SmtpLines.readLine(in);
            if (line == null) {
                return false;
            }
            plaintextCommands.add(line);
            String verb = line.split(" ", 2)[0].toUpperCase(Locale.ROOT);
            switch (verb) {
                case "EHLO" -> SmtpLines.reply(out, "250-legacy.test\r\n250 STARTTLS");
                case "STARTTLS" -> {
                    SmtpLines.reply(out, "220 2.0.0 Ready to start TLS");
                    return true;
                }
                case "QUIT" -> {
                    SmtpLines.reply(out, "221 2.0.0 Bye");
                    return false;
                }
                default -> SmtpLines.reply(out, "530 5.7.0 Must issue a STARTTLS command first");
            }
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }

    /** TLS 1.1 only, RSA key exchange with AES-128-CBC-SHA: what such servers typically offer. */
    private final class Tls11Server extends DefaultTlsServer {
        Tls11Server() {
            super(crypto);
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return ProtocolVersion.TLSv11.only();
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return new int[] {CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA};
        }

        @Override
        protected TlsCredentialedDecryptor getRSAEncryptionCredentials() throws IOException {
            try {
                TlsCertificate tlsCert = crypto.createCertificate(certificate.getEncoded());
                return new JceDefaultTlsCredentialedDecryptor(crypto, new Certificate(new TlsCertificate[] {tlsCert}),
                        key);
            } catch (GeneralSecurityException e) {
                throw new IOException(e);
            }
        }
    }

    private static X509Certificate rsaLeaf(KeyPair keys, HeldCertificate ca) throws GeneralSecurityException {
        try {
            Instant now = Instant.now();
            var b = new JcaX509v3CertificateBuilder(
                    X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded()),
                    new BigInteger(64, new SecureRandom()).add(BigInteger.ONE),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(1))),
                    new X500Name("CN=localhost"), keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true,
                    new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            var signer = new JcaContentSignerBuilder("SHA256withECDSA").setProvider(BC)
                    .build(ca.keyPair().getPrivate());
            return new JcaX509CertificateConverter().setProvider(BC).getCertificate(b.build(signer));
        } catch (OperatorCreationException | IOException e) {
            throw new GeneralSecurityException("cannot mint the RSA test certificate", e);
        }
    }
}
