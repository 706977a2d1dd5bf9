package dev.tlsrelay.tls;

import java.net.IDN;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Does a certificate name a host (RFC 6125, as browsers and OkHttp apply it): subject alternative
 * names only, never the common name; a wildcard only as the whole left-most label and never for
 * an IP address. The one place the relay decides host identity.
 */
final class HostnameMatcher {

    static final int SAN_DNS = 2;
    static final int SAN_IP = 7;

    private HostnameMatcher() {}

    static boolean matches(String host, X509Certificate cert) {
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return false;
        }
        if (sans == null) {
            return false;
        }
        boolean ip = isIpLiteral(host);
        for (List<?> san : sans) {
            int type = (Integer) san.get(0);
            String value = String.valueOf(san.get(1));
            if (ip && type == SAN_IP && sameAddress(host, value)) {
                return true;
            }
            if (!ip && type == SAN_DNS && dnsMatches(normalise(host), normalise(value))) {
                return true;
            }
        }
        return false;
    }

    static boolean isIpLiteral(String host) {
        String h = stripBrackets(host);
        return h.contains(":") || h.matches("[0-9.]+");
    }

    private static boolean sameAddress(String host, String sanValue) {
        try {
            // Both are literals, so no name lookup happens here.
            return InetAddress.getByName(stripBrackets(host)).equals(InetAddress.getByName(sanValue));
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static String stripBrackets(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static String normalise(String name) {
        String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        try {
            n = IDN.toASCII(n, IDN.ALLOW_UNASSIGNED);
        } catch (IllegalArgumentException e) {
            // Left as is: an unconvertible name simply matches nothing but itself.
        }
        return n.toLowerCase(Locale.ROOT);
    }

    private static boolean dnsMatches(String host, String pattern) {
        if (host.isEmpty() || pattern.isEmpty()) {
            return false;
        }
        if (!pattern.startsWith("*.")) {
            return host.equals(pattern);
        }
        String suffix = pattern.substring(1); // ".example.com"
        // "*.com"-style patterns and nested wildcards are refused outright.
        if (suffix.indexOf('.', 1) < 0 || suffix.contains("*")) {
            return false;
        }
        if (!host.endsWith(suffix)) {
            return false;
        }
        String label = host.substring(0, host.length() - suffix.length());
        return !label.isEmpty() && !label.contains(".");
    }
}
