package dev.tlsrelay.cli;

import dev.tlsrelay.catcher.Catcher;
import dev.tlsrelay.tls.CertificateMinter;
import dev.tlsrelay.tls.HeldCertificate;
import dev.tlsrelay.tls.Pem;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsServer;
import dev.tlsrelay.tls.TlsVersion;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tlsrelay catcher}: a local SMTP server that accepts mail only over TLS and keeps it. */
@Command(name = "catcher", mixinStandardHelpOptions = true,
        description = "Receive mail over TLS and keep it (NNNN.eml + NNNN.json per message): a stand-in upstream"
                + " for trying the relay or a device without a provider. Refuses MAIL before STARTTLS.")
final class CatcherCommand implements Callable<Integer> {

    @Option(names = "--listen", defaultValue = "127.0.0.1:2587", paramLabel = "HOST:PORT",
            description = "address to listen on (default ${DEFAULT-VALUE}; port 0 = any free port)")
    String listen;

    @Option(names = "--security", defaultValue = "starttls", paramLabel = "MODE",
            description = "starttls (default) or implicit")
    String security;

    @Option(names = "--cert-file", paramLabel = "PEM", description = "server certificate chain (PEM)")
    Path certFile;

    @Option(names = "--key-file", paramLabel = "PEM", description = "server private key (PEM, unencrypted)")
    Path keyFile;

    @Option(names = "--min-version", defaultValue = "TLSv1.2", paramLabel = "VERSION",
            description = "TLSv1.2 (default) or TLSv1.3")
    String minVersion;

    @Option(names = "--dir", defaultValue = "catcher", paramLabel = "DIR",
            description = "where messages (and a minted CA) are saved (default ./${DEFAULT-VALUE})")
    Path dir;

    @Option(names = "--auth", paramLabel = "USER:PASSWORD-FILE",
            description = "require AUTH (after TLS) as USER with the password in the first line of PASSWORD-FILE")
    String auth;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        InetSocketAddress address = parseListen();
        TlsMode mode = switch (security.toLowerCase(Locale.ROOT)) {
            case "starttls" -> TlsMode.STARTTLS;
            case "implicit" -> TlsMode.IMPLICIT;
            default -> throw usage("--security " + security + ": use starttls or implicit");
        };
        TlsVersion min = TlsVersion.fromProtocolName(minVersion)
                .orElseThrow(() -> usage("--min-version " + minVersion + ": use TLSv1.2 or TLSv1.3"));
        Optional<Catcher.Credentials> credentials = parseAuth();
        Files.createDirectories(dir);
        HeldCertificate identity = identity(out);
        Catcher catcher;
        try {
            catcher = Catcher.start(new Catcher.Options(address, mode, new TlsServer(identity, min), dir, credentials));
        } catch (BindException e) {
            spec.commandLine().getErr().println("tlsrelay catcher: " + listen + " is in use or not available ("
                    + e.getMessage() + "): pass --listen with a free port, or port 0 for any free port");
            return 1;
        }
        out.printf("catcher listening on %s:%d (%s, %s+%s), saving to %s%n", address.getAddress().getHostAddress(),
                catcher.port(), mode.configName(), min.protocolName(),
                credentials.map(c -> ", AUTH required as " + c.username()).orElse(""), dir.toAbsolutePath());
        out.printf("server certificate pin: sha256/%s%n", identity.pin().base64());
        out.flush();
        catcher.onMessage(m -> {
            out.println(m.summary());
            out.flush();
        });
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            catcher.close();
            stop.countDown();
        }, "tlsrelay-catcher-stop"));
        stop.await();
        return 0;
    }

    /** The given certificate and key, or a throwaway CA and a localhost certificate minted now. */
    private HeldCertificate identity(PrintWriter out) throws IOException {
        if (certFile != null || keyFile != null) {
            if (certFile == null || keyFile == null) {
                throw usage("--cert-file and --key-file go together: give both, or neither to mint a certificate");
            }
            List<X509Certificate> chain = Pem.readCertificates(certFile);
            if (chain.isEmpty()) {
                throw usage("--cert-file " + certFile + " holds no CERTIFICATE block");
            }
            KeyPair keys = new KeyPair(chain.get(0).getPublicKey(), Pem.readPrivateKey(keyFile));
            return new HeldCertificate(keys, chain.get(0), chain.subList(1, chain.size()));
        }
        HeldCertificate ca = new CertificateMinter().commonName("tlsrelay catcher CA").certificateAuthority().mint();
        HeldCertificate server = new CertificateMinter().names("localhost", "127.0.0.1").signedBy(ca).mint();
        Files.writeString(dir.resolve("ca.pem"), ca.certificatePem(), StandardCharsets.US_ASCII);
        Files.writeString(dir.resolve("cert.pem"), server.certificatePem(), StandardCharsets.US_ASCII);
        out.printf("minted a throwaway CA: %s (point upstream.tls.ca-file at it), certificate %s%n",
                dir.resolve("ca.pem").toAbsolutePath(), dir.resolve("cert.pem").toAbsolutePath());
        return server;
    }

    private InetSocketAddress parseListen() {
        int colon = listen.lastIndexOf(':');
        if (colon <= 0) {
            throw usage("--listen " + listen + ": expected HOST:PORT, e.g. 127.0.0.1:2587");
        }
        String host = listen.substring(0, colon).replace("[", "").replace("]", "");
        try {
            int port = Integer.parseInt(listen.substring(colon + 1));
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            if (!host.matches("[0-9.]+") && !host.contains(":") && !host.equals("localhost")) {
                throw usage("--listen " + listen + ": give an IP address, e.g. 127.0.0.1:2587");
            }
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (NumberFormatException | IOException e) {
            throw usage("--listen " + listen + ": expected HOST:PORT with a port 0-65535");
        }
    }

    private Optional<Catcher.Credentials> parseAuth() throws IOException {
        if (auth == null) {
            return Optional.empty();
        }
        int colon = auth.indexOf(':');
        if (colon <= 0 || colon == auth.length() - 1) {
            throw usage("--auth " + auth + ": expected USER:PASSWORD-FILE");
        }
        Path file = Path.of(auth.substring(colon + 1));
        if (!Files.isReadable(file)) {
            throw usage("--auth: password file " + file + " is not readable");
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty() || lines.get(0).isEmpty()) {
            throw usage("--auth: the first line of " + file + " must be the password");
        }
        return Optional.of(new Catcher.Credentials(auth.substring(0, colon), lines.get(0)));
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), "tlsrelay catcher: " + message);
    }
}
