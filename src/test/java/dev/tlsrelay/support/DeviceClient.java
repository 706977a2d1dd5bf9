package dev.tlsrelay.support;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.Base64;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * A device talking SMTP to the relay, byte-exact, that can start TLS in one of two ways: as a
 * legacy appliance (Bouncy Castle's low-level client limited to given versions and suites: no
 * JSSE client in this JVM can offer TLS 1.0/1.1) or as a modern client (the JDK's own SunJSSE,
 * trusting only the test CA). Every read has a timeout.
 */
public final class DeviceClient implements AutoCloseable {

    private static final BouncyCastleProvider BC = new BouncyCastleProvider();

    private final Socket socket;
    private InputStream in;
    private OutputStream out;
    private String protocol = "none";
    private String cipher = "none";
    private byte[] serverCertificate;

    private DeviceClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(15_000);
        this.in = new BufferedInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /** Connects from 127.0.0.1 and returns once the greeting is read; see {@link #greeting}. */
    public static DeviceClient connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        return new DeviceClient(s);
    }

    public String greeting() throws IOException {
        return reply();
    }

    /** Sends one command line and returns its (possibly multi-line) reply, lines joined by \n. */
    public String command(String line) throws IOException {
        send(line);
        return reply();
    }

    public DeviceClient send(String line) throws IOException {
        return sendRaw((line + "\r\n").getBytes(StandardCharsets.UTF_8));
    }

    public DeviceClient sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** One complete reply; "" when the server closed the connection. */
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

    /** True when the server has closed the connection (the next read sees end of stream or a reset). */
    public boolean closedByServer() {
        try {
            return in.read() == -1;
        } catch (IOException e) {
            return !(e instanceof java.net.SocketTimeoutException);
        }
    }

    /** AUTH PLAIN with an initial response; returns the final reply. */
    public String authPlain(String user, String password) throws IOException {
        String token = Base64.getEncoder().encodeToString(("\0" + user + "\0" + password)
                .getBytes(StandardCharsets.UTF_8));
        return command("AUTH PLAIN " + token);
    }

    /** AUTH LOGIN, the challenge-response way; returns the final reply. */
    public String authLogin(String user, String password) throws IOException {
        String r = command("AUTH LOGIN");
        if (!r.startsWith("334")) {
            return r;
        }
        r = command(Base64.getEncoder().encodeToString(user.getBytes(StandardCharsets.UTF_8)));
        if (!r.startsWith("334")) {
            return r;
        }
        return command(Base64.getEncoder().encodeToString(password.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Completes a TLS handshake as an old appliance would, offering only {@code versions} and
     * {@code suites} (after the relay's 220 to STARTTLS). Test-only: it accepts any server
     * certificate, and records it for the test to check.
     */
    public void handshakeLegacy(ProtocolVersion[] versions, int[] suites) throws IOException {
        var crypto = new JcaTlsCryptoProvider().setProvider(BC).create(new SecureRandom());
        TlsClientProtocol tls = new TlsClientProtocol(socket.getInputStream(), socket.getOutputStream());
        tls.connect(new DefaultTlsClient(crypto) {
            @Override
            protected ProtocolVersion[] getSupportedVersions() {
                return versions.clone();
            }

            @Override
            protected int[] getSupportedCipherSuites() {
                return suites.clone();
            }

            @Override
            public TlsAuthentication getAuthentication() {
                return new ServerOnlyTlsAuthentication() {
                    @Override
                    public void notifyServerCertificate(TlsServerCertificate certificate) throws IOException {
                        serverCertificate = certificate.getCertificate().getCertificateAt(0).getEncoded();
                    }
                };
            }

            @Override
            public void notifyHandshakeComplete() throws IOException {
                super.notifyHandshakeComplete();
                protocol = context.getServerVersion().toString();
                cipher = String.valueOf(context.getSecurityParametersConnection().getCipherSuite());
            }
        });
        this.in = new BufferedInputStream(tls.getInputStream());
        this.out = tls.getOutputStream();
    }

    /** Completes a TLS handshake with the JDK's own client, trusting only {@code ca}, checking the host name. */
    public void handshakeJdk(X509Certificate ca) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(socket, "localhost", socket.getPort(), true);
        var params = ssl.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        ssl.setSSLParameters(params);
        ssl.startHandshake();
        protocol = ssl.getSession().getProtocol();
        cipher = ssl.getSession().getCipherSuite();
        serverCertificate = ssl.getSession().getPeerCertificates()[0].getEncoded();
        this.in = new BufferedInputStream(ssl.getInputStream());
        this.out = ssl.getOutputStream();
    }

    /** The agreed version: "TLS 1.0" style for the legacy client, "TLSv1.3" style for the JDK one. */
    public String protocol() {
        return protocol;
    }

    /** The agreed suite: its number for the legacy client, its name for the JDK one. */
    public String cipher() {
        return cipher;
    }

    /** DER of the certificate the server presented. */
    public byte[] serverCertificate() {
        return serverCertificate.clone();
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

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
