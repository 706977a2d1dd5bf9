package dev.tlsrelay.support;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.tlsrelay.tls.HeldCertificate;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** The JDK's own HTTPS server on 127.0.0.1, serving one MTA-STS policy with a test certificate. */
public final class PolicyServer implements AutoCloseable {

    public static final String PATH = "/.well-known/mta-sts.txt";

    private final HttpsServer server;

    private PolicyServer(HttpsServer server) {
        this.server = server;
    }

    /** Serves {@code body} at {@link #PATH} with the given status and content type. */
    public static PolicyServer start(HeldCertificate identity, int status, String contentType, String body)
            throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] pw = "policy".toCharArray();
        ks.setKeyEntry("policy", identity.keyPair().getPrivate(), pw, identity.chain());
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, pw);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        HttpsServer s = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.setHttpsConfigurator(new HttpsConfigurator(ctx));
        s.createContext(PATH, exchange -> {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", contentType);
            exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        s.start();
        return new PolicyServer(s);
    }

    /** Where the policy is: {@code https://127.0.0.1:PORT/.well-known/mta-sts.txt}. */
    public URI uri() {
        return URI.create("https://127.0.0.1:" + server.getAddress().getPort() + PATH);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
