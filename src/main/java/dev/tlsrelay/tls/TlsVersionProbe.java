package dev.tlsrelay.tls;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Vector;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.KeyExchangeAlgorithm;
import org.bouncycastle.tls.NameType;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerName;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * Finds out whether a server accepts one TLS version, TLS 1.0 and 1.1 included. For {@code tlsrelay
 * probe} only: the result is a {@link VersionProbeResult} and nothing else, the connection is
 * closed before this returns, and no application byte is ever written to it. The relay never
 * delivers mail this way.
 *
 * <p>Why Bouncy Castle's low-level TLS client and not JSSE: both JSSE providers (SunJSSE and BCJSSE)
 * apply the process-wide {@code jdk.tls.disabledAlgorithms} and cannot even offer TLS 1.0/1.1 in this
 * process; the low-level API reads no security property, so the old versions can be offered here
 * without loosening anything for the rest of the process. The certificate is checked by the same
 * {@link ServerIdentity} as the relay's; a chain the policy refuses ends the handshake at once
 * (the version has been answered by then).
 */
public final class TlsVersionProbe {

    /**
     * What is offered, per version: every suite a server of the last twenty years might insist on,
     * strongest first, including CBC, RSA key exchange and 3DES, because the question is what the
     * server accepts, not what the relay would use.
     */
    private static final int[] OFFERED_SUITES = {
        CipherSuite.TLS_AES_256_GCM_SHA384,
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        CipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256,
        CipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA,
        CipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA,
        CipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256,
        CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
        CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
        CipherSuite.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
    };

    private static final Map<Integer, String> SUITE_NAMES = suiteNames();

    private final TlsPolicy policy;
    private final X509TrustManager pkix;

    /**
     * @param policy whose trust, pins and verify mode judge the certificate, and whose handshake
     *               timeout bounds every read
     * @throws GeneralSecurityException if the trust anchors cannot be turned into a trust manager
     */
    public TlsVersionProbe(TlsPolicy policy) throws GeneralSecurityException {
        this.policy = policy;
        this.pkix = policy.trust().pkixTrustManager();
    }

    /**
     * Offers exactly {@code version} on a connection that is ready for a ClientHello (freshly
     * connected for implicit TLS, or right after the server's {@code 220} to STARTTLS), reads the
     * answer and closes the connection.
     *
     * @param host the server's name: sent as SNI, and what the certificate must name
     */
    public VersionProbeResult offer(Socket connected, String host, ProbedVersion version) {
        Instant start = Instant.now();
        OfferOneVersion client = new OfferOneVersion(host, version);
        try (connected) {
            connected.setSoTimeout((int) policy.handshakeTimeout().toMillis());
            TlsClientProtocol protocol = new TlsClientProtocol(connected.getInputStream(), connected.getOutputStream());
            protocol.connect(client);
            // A verified handshake: say goodbye properly, and nothing else.
            protocol.close();
            return client.result(start, Optional.empty());
        } catch (IOException | RuntimeException e) {
            if (client.chosenVersion != null) {
                // The server answered with our version; what broke afterwards is a different story.
                return client.result(start, Optional.of(client.certificateRefusal
                        .orElseGet(() -> "handshake did not complete: " + TlsClient.describe(e))));
            }
            return refusal(version, e, start, client);
        }
    }

    private VersionProbeResult refusal(ProbedVersion version, Exception e, Instant start, OfferOneVersion client) {
        VersionProbeResult.Answer answer = VersionProbeResult.Answer.REFUSED;
        String detail;
        if (isTimeout(e)) {
            answer = VersionProbeResult.Answer.NO_ANSWER;
            detail = "no answer within " + policy.handshakeTimeout().toSeconds() + " s";
        } else if (e instanceof TlsFatalAlertReceived r) {
            detail = "the server refused with alert " + AlertDescription.getText(r.getAlertDescription());
        } else if (e instanceof EOFException || (e.getMessage() != null && e.getMessage().contains("closed"))) {
            detail = "the server closed the connection";
        } else if (e instanceof TlsFatalAlert f && f.getAlertDescription() == AlertDescription.protocol_version) {
            detail = "the server answered with another version";
        } else if (e instanceof TlsFatalAlert f) {
            detail = "the server's answer was unacceptable (" + AlertDescription.getText(f.getAlertDescription()) + ")";
        } else {
            detail = TlsClient.describe(e);
        }
        return new VersionProbeResult(version, answer, Optional.empty(), Optional.of(detail), client.identity,
                Duration.between(start, Instant.now()));
    }

    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    /** The IANA name of a suite, e.g. {@code TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}. */
    static String suiteName(int suite) {
        return SUITE_NAMES.getOrDefault(suite, String.format("0x%04X", suite));
    }

    private static Map<Integer, String> suiteNames() {
        Map<Integer, String> names = new HashMap<>();
        for (Field f : CipherSuite.class.getFields()) {
            if (f.getType() == int.class && Modifier.isStatic(f.getModifiers())) {
                try {
                    names.putIfAbsent(f.getInt(null), f.getName());
                } catch (IllegalAccessException e) {
                    // Public constants: cannot happen; the suite is then shown by number.
                }
            }
        }
        return Map.copyOf(names);
    }

    private static ProtocolVersion bcVersion(ProbedVersion v) {
        return switch (v) {
            case TLS_1_0 -> ProtocolVersion.TLSv10;
            case TLS_1_1 -> ProtocolVersion.TLSv11;
            case TLS_1_2 -> ProtocolVersion.TLSv12;
            case TLS_1_3 -> ProtocolVersion.TLSv13;
        };
    }

    /** The authentication type JSSE would pass its trust manager for this key exchange. */
    private static String authType(int keyExchange) {
        return switch (keyExchange) {
            case KeyExchangeAlgorithm.ECDHE_ECDSA -> "ECDHE_ECDSA";
            case KeyExchangeAlgorithm.ECDHE_RSA -> "ECDHE_RSA";
            case KeyExchangeAlgorithm.DHE_RSA -> "DHE_RSA";
            case KeyExchangeAlgorithm.DHE_DSS -> "DHE_DSS";
            case KeyExchangeAlgorithm.RSA -> "RSA";
            default -> "UNKNOWN"; // TLS 1.3: authentication is separate from key exchange
        };
    }

    private static short alertFor(FailureCode code) {
        return switch (code) {
            case CERT_EXPIRED, CERT_NOT_YET_VALID -> AlertDescription.certificate_expired;
            case CERT_UNTRUSTED -> AlertDescription.unknown_ca;
            default -> AlertDescription.bad_certificate;
        };
    }

    /** A client that offers one version and remembers what the server did with it. */
    private final class OfferOneVersion extends DefaultTlsClient {
        private final String host;
        private final ProbedVersion version;
        private volatile ProtocolVersion chosenVersion;
        private volatile int chosenSuite = -1;
        private volatile Optional<ServerIdentity> identity = Optional.empty();
        private volatile Optional<String> certificateRefusal = Optional.empty();

        OfferOneVersion(String host, ProbedVersion version) {
            super(crypto());
            this.host = host;
            this.version = version;
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return bcVersion(version).only();
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            ProtocolVersion v = bcVersion(version);
            int[] forVersion = Arrays.stream(OFFERED_SUITES)
                    .filter(s -> TlsUtils.isValidVersionForCipherSuite(s, v))
                    .toArray();
            return TlsUtils.getSupportedCipherSuites(getCrypto(), forVersion);
        }

        @Override
        protected Vector<ServerName> getSNIServerNames() {
            if (HostnameMatcher.isIpLiteral(host)) {
                return null;
            }
            Vector<ServerName> names = new Vector<>();
            names.add(new ServerName(NameType.host_name, host.getBytes(StandardCharsets.US_ASCII)));
            return names;
        }

        @Override
        public void notifyServerVersion(ProtocolVersion serverVersion) throws IOException {
            super.notifyServerVersion(serverVersion);
            if (serverVersion.equals(bcVersion(version))) {
                chosenVersion = serverVersion;
            }
        }

        @Override
        public void notifySelectedCipherSuite(int selectedCipherSuite) {
            super.notifySelectedCipherSuite(selectedCipherSuite);
            chosenSuite = selectedCipherSuite;
        }

        @Override
        public TlsAuthentication getAuthentication() {
            return new ServerOnlyTlsAuthentication() {
                @Override
                public void notifyServerCertificate(TlsServerCertificate serverCertificate) throws IOException {
                    verify(serverCertificate);
                }
            };
        }

        private void verify(TlsServerCertificate serverCertificate) throws IOException {
            TlsCertificate[] list = serverCertificate.getCertificate().getCertificateList();
            if (list.length == 0) {
                certificateRefusal = Optional.of(FailureCode.CERT_UNTRUSTED.plainWords()
                        + ": the server sent no certificate");
                throw new TlsFatalAlert(AlertDescription.bad_certificate);
            }
            X509Certificate[] chain = new X509Certificate[list.length];
            try {
                CertificateFactory cf = CertificateFactory.getInstance("X.509");
                for (int i = 0; i < list.length; i++) {
                    chain[i] = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(list[i].getEncoded()));
                }
            } catch (CertificateException e) {
                certificateRefusal = Optional.of("the server's certificate cannot be parsed: " + e.getMessage());
                throw new TlsFatalAlert(AlertDescription.bad_certificate, e);
            }
            int keyExchange = context.getSecurityParametersHandshake().getKeyExchangeAlgorithm();
            ServerIdentity checked = ServerIdentity.check(host, chain, authType(keyExchange), policy, pkix);
            identity = Optional.of(checked);
            Optional<ServerIdentity.Check> refused = checked.decidingFailure();
            if (refused.isPresent()) {
                FailureCode code = refused.get().failure().orElseThrow();
                certificateRefusal = Optional.of(code.plainWords() + ": " + refused.get().detail());
                throw new TlsFatalAlert(alertFor(code));
            }
        }

        VersionProbeResult result(Instant start, Optional<String> detail) {
            Optional<String> cipher = chosenSuite < 0 ? Optional.empty() : Optional.of(suiteName(chosenSuite));
            return new VersionProbeResult(version, VersionProbeResult.Answer.ACCEPTED, cipher, detail, identity,
                    Duration.between(start, Instant.now()));
        }
    }

    private static TlsCrypto crypto() {
        return new JcaTlsCryptoProvider().setProvider(Providers.bc()).create(Providers.random());
    }
}
