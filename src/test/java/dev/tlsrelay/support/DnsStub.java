package dev.tlsrelay.support;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;

/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP), built from dnsjava's own message classes:
 * the records a test adds, NXDOMAIN for names it never mentioned, an empty answer for a known name
 * without the asked type. No network beyond loopback.
 */
public final class DnsStub implements AutoCloseable {

    private final DatagramSocket socket;
    private final Map<Name, List<Record>> zone = new ConcurrentHashMap<>();

    private DnsStub() throws SocketException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofVirtual().name("dns-stub").start(this::serve);
    }

    public static DnsStub start() throws SocketException {
        return new DnsStub();
    }

    public int port() {
        return socket.getLocalPort();
    }

    /** A resolver that asks only this stub. */
    public SimpleResolver resolver() {
        SimpleResolver r = new SimpleResolver(new InetSocketAddress(InetAddress.getLoopbackAddress(), port()));
        r.setTimeout(Duration.ofSeconds(2));
        return r;
    }

    public DnsStub mx(String domain, int preference, String host) {
        return add(new MXRecord(name(domain), DClass.IN, 300, preference, name(host)));
    }

    public DnsStub a(String host, String address) {
        try {
            return add(new ARecord(name(host), DClass.IN, 300, InetAddress.getByName(address)));
        } catch (IOException e) {
            throw new IllegalArgumentException(address, e);
        }
    }

    public DnsStub txt(String name, String text) {
        return add(new TXTRecord(name(name), DClass.IN, 300, text));
    }

    private DnsStub add(Record r) {
        zone.computeIfAbsent(r.getName(), n -> new ArrayList<>()).add(r);
        return this;
    }

    private static Name name(String s) {
        try {
            return Name.fromString(s.endsWith(".") ? s : s + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    private void serve() {
        byte[] buf = new byte[4096];
        while (!socket.isClosed()) {
            try {
                DatagramPacket packet = new DatagramPacket(buf, buf.length);
                socket.receive(packet);
                Message query = new Message(java.util.Arrays.copyOf(packet.getData(), packet.getLength()));
                byte[] answer = answer(query).toWire(512);
                socket.send(new DatagramPacket(answer, answer.length, packet.getSocketAddress()));
            } catch (IOException e) {
                if (socket.isClosed()) {
                    return;
                }
            }
        }
    }

    private Message answer(Message query) {
        Record question = query.getQuestion();
        Message response = new Message(query.getHeader().getID());
        response.getHeader().setFlag(Flags.QR);
        response.getHeader().setFlag(Flags.AA);
        if (query.getHeader().getFlag(Flags.RD)) {
            response.getHeader().setFlag(Flags.RD);
        }
        response.addRecord(question, Section.QUESTION);
        List<Record> records = zone.get(question.getName());
        if (records == null) {
            response.getHeader().setRcode(Rcode.NXDOMAIN);
            return response;
        }
        for (Record r : records) {
            if (r.getType() == question.getType()) {
                response.addRecord(r, Section.ANSWER);
            }
        }
        return response;
    }

    @Override
    public void close() {
        socket.close();
    }
}
