package dev.tlsrelay.support;

import com.icegreen.greenmail.util.DummySSLServerSocketFactory;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import dev.tlsrelay.tls.HeldCertificate;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * GreenMail (plain SMTP and SMTPS) in a JVM of its own, serving a certificate minted by the test.
 *
 * <p>Why a separate JVM: GreenMail reads its TLS keystore from system properties once per JVM (an
 * enum singleton), and surefire runs every test class in one JVM. Starting a secure GreenMail here
 * would fix the certificate for every other test class that needs its own. A child process keeps
 * the singleton to itself. It stops when its standard input closes.
 */
public final class GreenMailProcess implements AutoCloseable {

    private static final String PASSWORD = "greenmail-child";

    private final Process process;
    private final int smtpPort;
    private final int smtpsPort;

    private GreenMailProcess(Process process, int smtpPort, int smtpsPort) {
        this.process = process;
        this.smtpPort = smtpPort;
        this.smtpsPort = smtpsPort;
    }

    /** Starts GreenMail SMTP and SMTPS on 127.0.0.1, any free ports, SMTPS serving {@code identity}. */
    public static GreenMailProcess start(Path dir, HeldCertificate identity) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("greenmail", identity.keyPair().getPrivate(), PASSWORD.toCharArray(), identity.chain());
        Path keystore = dir.resolve("greenmail-child.p12");
        try (OutputStream out = Files.newOutputStream(keystore)) {
            ks.store(out, PASSWORD.toCharArray());
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("-D" + DummySSLServerSocketFactory.GREENMAIL_KEYSTORE_FILE_PROPERTY + "=" + keystore);
        cmd.add("-D" + DummySSLServerSocketFactory.GREENMAIL_KEYSTORE_PASSWORD_PROPERTY + "=" + PASSWORD);
        cmd.add("-D" + DummySSLServerSocketFactory.GREENMAIL_KEY_PASSWORD_PROPERTY + "=" + PASSWORD);
        cmd.add(GreenMailProcess.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        int smtp = -1;
        int smtps = -1;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        StringBuilder seen = new StringBuilder();
        while ((smtp < 0 || smtps < 0) && System.nanoTime() < deadline) {
            String line = r.readLine();
            if (line == null) {
                break;
            }
            seen.append(line).append('\n');
            if (line.startsWith("SMTP ")) {
                smtp = Integer.parseInt(line.substring(5).trim());
            } else if (line.startsWith("SMTPS ")) {
                smtps = Integer.parseInt(line.substring(6).trim());
            }
        }
        if (smtp < 0 || smtps < 0) {
            p.destroyForcibly();
            throw new IllegalStateException("GreenMail child did not report its ports:\n" + seen);
        }
        // Keep draining its output so it never blocks on a full pipe.
        Thread.ofVirtual().start(() -> {
            try {
                while (r.readLine() != null) {
                    // discard
                }
            } catch (IOException ignored) {
                // The child ended.
            }
        });
        return new GreenMailProcess(p, smtp, smtps);
    }

    public int smtpPort() {
        return smtpPort;
    }

    public int smtpsPort() {
        return smtpsPort;
    }

    @Override
    public void close() throws IOException {
        process.getOutputStream().close();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** The child: start, report the ports, run until standard input closes. */
    public static void main(String[] args) throws Exception {
        GreenMail greenMail = new GreenMail(new ServerSetup[] {
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP),
            new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTPS)});
        greenMail.start();
        System.out.println("SMTP " + greenMail.getSmtp().getPort());
        System.out.println("SMTPS " + greenMail.getSmtps().getPort());
        System.out.flush();
        try {
            while (System.in.read() >= 0) {
                // Wait for the parent to close our input (or die).
            }
        } finally {
            greenMail.stop();
            System.exit(0);
        }
    }
}
