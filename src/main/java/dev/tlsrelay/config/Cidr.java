package dev.tlsrelay.config;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 network in CIDR notation, e.g. {@code 192.168.10.0/24} or {@code ::1/128}. */
public record Cidr(InetAddress network, int prefixLength) {

    public Cidr {
        int bits = network.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > bits) {
            throw new IllegalArgumentException("prefix length must be 0.." + bits);
        }
    }

    /**
     * Parses {@code ADDRESS/PREFIX} or a bare address (a single host). Only literals are accepted, so
     * parsing never does a DNS lookup.
     */
    public static Cidr parse(String text) {
        String t = text.trim();
        int slash = t.indexOf('/');
        String addr = slash < 0 ? t : t.substring(0, slash);
        if (!addr.matches("[0-9.]+") && !addr.contains(":")) {
            throw new IllegalArgumentException("not an IP address: " + addr);
        }
        InetAddress a;
        try {
            a = InetAddress.getByName(addr);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + addr);
        }
        int bits = a.getAddress().length * 8;
        int prefix;
        try {
            prefix = slash < 0 ? bits : Integer.parseInt(t.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad prefix length in " + t);
        }
        return new Cidr(a, prefix);
    }

    /** Whether {@code address} lies in this network (IPv4 and IPv6 never match each other). */
    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        byte[] n = network.getAddress();
        if (a.length != n.length) {
            return false;
        }
        int bits = n.length * 8;
        if (prefixLength == 0) {
            return true;
        }
        BigInteger mask = BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE)
                .shiftRight(bits - prefixLength).shiftLeft(bits - prefixLength);
        return new BigInteger(1, a).and(mask).equals(new BigInteger(1, n).and(mask));
    }

    /** Only loopback addresses inside. */
    public boolean isLoopbackOnly() {
        return network.isLoopbackAddress() && prefixLength >= (network.getAddress().length == 4 ? 8 : 128);
    }

    /** Every address of its family: an open relay if the listener is reachable. */
    public boolean isEverything() {
        return prefixLength == 0;
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefixLength;
    }
}
