package dev.tlsrelay.probe;

import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsPolicy;
import java.net.InetAddress;
import java.util.Optional;

/**
 * One server to probe and the policy to judge it by.
 *
 * @param host       the server's name: what the certificate must carry, and sent as SNI
 * @param mode       how TLS starts
 * @param modeReason why this mode, for people ("given", "auto: port 465 is implicit TLS")
 * @param policy     the relay's TLS policy to judge by; its handshake timeout bounds every wait
 * @param address    where to connect, when already resolved (MX hosts are resolved through DNS);
 *                   empty = resolve {@code host} the way the relay does
 * @param heloName   the name given in EHLO
 * @param expectAuth whether the server is expected to offer AUTH after TLS (a submission port,
 *                   not an MX on port 25)
 * @param mxOf       the mail domain whose MX record named this host, if that is where the name came
 *                   from: then the fix for a wrong name is a new certificate, not another name
 */
public record ProbeRequest(
        String host,
        int port,
        TlsMode mode,
        String modeReason,
        TlsPolicy policy,
        Optional<InetAddress> address,
        String heloName,
        boolean expectAuth,
        Optional<String> mxOf) {

    public ProbeRequest {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not in 1-65535");
        }
        if (host.isBlank()) {
            throw new IllegalArgumentException("host is empty");
        }
    }

    /** {@code host:port}, with brackets around an IPv6 literal. */
    public String target() {
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }
}
