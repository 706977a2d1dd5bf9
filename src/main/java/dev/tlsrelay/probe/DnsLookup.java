package dev.tlsrelay.probe;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ExtendedResolver;
import org.xbill.DNS.MXRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;
import org.xbill.DNS.lookup.LookupResult;
import org.xbill.DNS.lookup.LookupSession;
import org.xbill.DNS.lookup.NoSuchDomainException;
import org.xbill.DNS.lookup.NoSuchRRSetException;

/**
 * The DNS questions a mail domain probe asks (MX, TXT, A/AAAA), through dnsjava, answered in plain
 * Java types. The only class that touches dnsjava. No cache: a probe wants today's answer, and
 * tests pointing resolvers at different stubs must never see each other's records. Answers are not
 * DNSSEC-validated (MTA-STS does not need it; that is what its HTTPS policy is for).
 */
final class DnsLookup {

    /** How a question came out. */
    enum Status {
        FOUND,
        /** NXDOMAIN: the name does not exist at all. */
        NO_DOMAIN,
        /** The name exists, but has no record of this type. */
        NO_RECORDS,
        /** No usable answer (timeout, SERVFAIL, refused). */
        FAILED
    }

    /** An answer: the values found, or why there are none. */
    record Answer<T>(Status status, List<T> values, String error) {
        Answer {
            values = List.copyOf(values);
        }

        boolean found() {
            return status == Status.FOUND && !values.isEmpty();
        }
    }

    /** One MX record: preference and target, the target without its trailing dot. */
    record Mx(int preference, String host) {}

    private final LookupSession session;
    private final Duration timeout;
    private final String resolverDescription;

    private DnsLookup(Resolver resolver, Duration timeout, String resolverDescription) {
        resolver.setTimeout(timeout);
        this.session = LookupSession.builder().resolver(resolver).clearCaches().build();
        this.timeout = timeout;
        this.resolverDescription = resolverDescription;
    }

    /** The resolvers this machine is configured with ({@code /etc/resolv.conf} and the like). */
    static DnsLookup system(Duration timeout) {
        return new DnsLookup(new ExtendedResolver(), timeout, "this machine's DNS resolvers");
    }

    /** A given resolver (tests point a {@code SimpleResolver} at a local stub). */
    static DnsLookup using(Resolver resolver, Duration timeout) {
        return new DnsLookup(resolver, timeout, String.valueOf(resolver));
    }

    String describe() {
        return resolverDescription;
    }

    /** Whether {@code domain} is a syntactically valid DNS name. */
    static boolean isValidName(String domain) {
        try {
            absolute(domain);
            return !domain.isBlank() && domain.length() <= 253;
        } catch (TextParseException e) {
            return false;
        }
    }

    /** MX records, lowest preference first. */
    Answer<Mx> mx(String domain) {
        Answer<Record> a = ask(domain, Type.MX);
        List<Mx> out = new ArrayList<>();
        for (Record r : a.values()) {
            if (r instanceof MXRecord mx) {
                out.add(new Mx(mx.getPriority(), withoutDot(mx.getTarget())));
            }
        }
        out.sort(Comparator.comparingInt(Mx::preference).thenComparing(Mx::host));
        return new Answer<>(a.status(), out, a.error());
    }

    /** TXT records, each with its strings joined (as RFC 8461 and RFC 8460 read them). */
    Answer<String> txt(String name) {
        Answer<Record> a = ask(name, Type.TXT);
        List<String> out = new ArrayList<>();
        for (Record r : a.values()) {
            if (r instanceof TXTRecord txt) {
                out.add(String.join("", txt.getStrings()));
            }
        }
        return new Answer<>(a.status(), out, a.error());
    }

    /** IPv4 then IPv6 addresses of a host. */
    Answer<InetAddress> addresses(String host) {
        Answer<Record> v4 = ask(host, Type.A);
        Answer<Record> v6 = ask(host, Type.AAAA);
        List<InetAddress> out = new ArrayList<>();
        v4.values().forEach(r -> out.add(((ARecord) r).getAddress()));
        v6.values().forEach(r -> out.add(((AAAARecord) r).getAddress()));
        if (!out.isEmpty()) {
            return new Answer<>(Status.FOUND, out, "");
        }
        Status worst = v4.status() == Status.FAILED || v6.status() == Status.FAILED ? Status.FAILED
                : v4.status() == Status.NO_DOMAIN ? Status.NO_DOMAIN : Status.NO_RECORDS;
        return new Answer<>(worst, out, v4.error().isEmpty() ? v6.error() : v4.error());
    }

    private Answer<Record> ask(String name, int type) {
        Name n;
        try {
            n = absolute(name);
        } catch (TextParseException e) {
            return new Answer<>(Status.FAILED, List.of(), "not a DNS name: " + name);
        }
        try {
            LookupResult result = session.lookupAsync(n, type).toCompletableFuture()
                    .get(timeout.toMillis() * 3, TimeUnit.MILLISECONDS);
            List<Record> records = result.getRecords().stream().filter(r -> r.getType() == type).toList();
            return new Answer<>(records.isEmpty() ? Status.NO_RECORDS : Status.FOUND, records, "");
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof NoSuchDomainException) {
                return new Answer<>(Status.NO_DOMAIN, List.of(), "NXDOMAIN");
            }
            if (cause instanceof NoSuchRRSetException) {
                return new Answer<>(Status.NO_RECORDS, List.of(), "no " + Type.string(type) + " record");
            }
            return new Answer<>(Status.FAILED, List.of(), String.valueOf(cause.getMessage()));
        } catch (TimeoutException e) {
            return new Answer<>(Status.FAILED, List.of(), "no answer from " + resolverDescription + " within "
                    + ServerProbe.seconds(timeout.multipliedBy(3)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer<>(Status.FAILED, List.of(), "interrupted");
        }
    }

    private static Name absolute(String name) throws TextParseException {
        return Name.fromString(name.endsWith(".") ? name : name + ".");
    }

    private static String withoutDot(Name name) {
        String s = name.toString();
        return s.endsWith(".") && s.length() > 1 ? s.substring(0, s.length() - 1) : s;
    }
}
