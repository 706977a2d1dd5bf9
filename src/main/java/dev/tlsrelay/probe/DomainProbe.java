package dev.tlsrelay.probe;

import dev.tlsrelay.tls.TlsClient;
import dev.tlsrelay.tls.TlsMode;
import dev.tlsrelay.tls.TlsPolicy;
import dev.tlsrelay.tls.TrustSource;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.xbill.DNS.SimpleResolver;

/**
 * Probes a mail domain: looks up its MX hosts and probes each on port 25 with STARTTLS under the
 * relay's policy (full verification means the certificate must name the MX host, which is what
 * MTA-STS demands too), reads its MTA-STS record and fetches the policy over verified HTTPS, checks
 * that the policy covers every MX host, and reads its TLS-RPT record.
 *
 * <p>DNS, the policy's location and the HTTPS trust anchors are injectable, so tests run against a
 * local DNS stub and a local HTTPS server; {@link #withSystemDns} gives the real ones.
 */
public final class DomainProbe {

    /** At most this many MX hosts are probed; a domain with more is unusual and each costs five connections. */
    static final int MAX_MX_HOSTS = 10;

    private static final Pattern TXT_ID = Pattern.compile("(?:^|;)\\s*id\\s*=\\s*([A-Za-z0-9]{1,32})\\s*(?:;|$)");
    private static final Pattern RUA = Pattern.compile("(?:^|;)\\s*rua\\s*=\\s*([^;]+)");

    private final TlsPolicy policy;
    private final String helo;
    private final DnsLookup dns;
    private final Function<String, URI> policyLocation;
    private final TrustSource httpsTrust;
    private final int smtpPort;

    DomainProbe(TlsPolicy policy, String helo, DnsLookup dns, Function<String, URI> policyLocation,
            TrustSource httpsTrust, int smtpPort) {
        this.policy = policy;
        this.helo = helo;
        this.dns = dns;
        this.policyLocation = policyLocation;
        this.httpsTrust = httpsTrust;
        this.smtpPort = smtpPort;
    }

    /** The real thing: the system's DNS resolvers, policies from {@code https://mta-sts.DOMAIN/}, the JDK trust store. */
    public static DomainProbe withSystemDns(TlsPolicy policy, String helo) {
        return new DomainProbe(policy, helo, DnsLookup.system(policy.handshakeTimeout()), DomainProbe::policyLocation,
                TrustSource.jdkDefault(), 25);
    }

    /** Like {@link #withSystemDns}, but asking one DNS server (like {@code dig @server}). */
    public static DomainProbe withDnsServer(TlsPolicy policy, String helo, InetSocketAddress server) {
        return new DomainProbe(policy, helo, DnsLookup.using(new SimpleResolver(server), policy.handshakeTimeout()),
                DomainProbe::policyLocation, TrustSource.jdkDefault(), 25);
    }

    /** RFC 8461: {@code https://mta-sts.DOMAIN/.well-known/mta-sts.txt}. */
    public static URI policyLocation(String domain) {
        return URI.create("https://mta-sts." + domain + "/.well-known/mta-sts.txt");
    }

    /** Whether {@code domain} can be asked about at all. */
    public static boolean isValidDomain(String domain) {
        return DnsLookup.isValidName(domain) && !domain.startsWith(".") && domain.contains(".");
    }

    /** Runs every check; never throws for anything DNS or the servers do. */
    public DomainReport probe(String rawDomain) {
        String domain = rawDomain.toLowerCase(Locale.ROOT).replaceAll("\\.$", "");
        Instant at = Instant.now();
        DnsLookup.Answer<DnsLookup.Mx> mx = dns.mx(domain);
        List<String> fallback = List.of();
        if (!mx.found()) {
            fallback = dns.addresses(domain).values().stream().map(InetAddress::getHostAddress).toList();
        }
        DomainReport.MtaSts sts = mtaSts(domain);
        DomainReport.TlsRpt rpt = tlsRpt(domain);
        List<DomainReport.MxHost> hosts = new ArrayList<>();
        boolean nullMx = mx.found() && mx.values().size() == 1 && mx.values().get(0).host().equals(".");
        if (mx.found() && !nullMx) {
            for (DnsLookup.Mx m : mx.values().subList(0, Math.min(MAX_MX_HOSTS, mx.values().size()))) {
                hosts.add(mxHost(domain, m, sts));
            }
        }
        DomainReport facts = new DomainReport(domain, at, dns.describe(), mx.status().name().toLowerCase(Locale.ROOT),
                mx.error().isEmpty() ? Optional.empty() : Optional.of(mx.error()), hosts, fallback, sts, rpt, List.of());
        return new DomainReport(domain, at, facts.resolver(), facts.mxLookup(), facts.mxError(), hosts, fallback, sts,
                rpt, DomainVerdicts.judge(facts, nullMx, mx.values().size()));
    }

    private DomainReport.MxHost mxHost(String domain, DnsLookup.Mx m, DomainReport.MtaSts sts) {
        Optional<Boolean> covered = sts.policy().filter(MtaStsPolicy::valid).map(p -> p.covers(m.host()));
        DnsLookup.Answer<InetAddress> addresses = dns.addresses(m.host());
        if (!addresses.found()) {
            return new DomainReport.MxHost(m.host(), m.preference(), Optional.empty(),
                    Optional.of(addresses.status() == DnsLookup.Status.FAILED ? addresses.error()
                            : "no A or AAAA record"), Optional.empty(), covered);
        }
        InetAddress address = addresses.values().get(0);
        ProbeRequest request = new ProbeRequest(m.host(), smtpPort, TlsMode.STARTTLS, "MX " + m.preference()
                + " of " + domain, policy, Optional.of(address), helo, false, Optional.of(domain));
        try {
            ProbeReport report = new ServerProbe(request).run();
            return new DomainReport.MxHost(m.host(), m.preference(), Optional.of(address.getHostAddress()),
                    Optional.empty(), Optional.of(report), covered);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the trust anchors were usable a moment ago: " + e.getMessage(), e);
        }
    }

    private DomainReport.MtaSts mtaSts(String domain) {
        String name = "_mta-sts." + domain;
        DnsLookup.Answer<String> txt = dns.txt(name);
        List<String> records = txt.values().stream().filter(t -> t.startsWith("v=STSv1")).toList();
        if (txt.status() == DnsLookup.Status.FAILED) {
            return new DomainReport.MtaSts(name, records, Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.of("the TXT lookup failed: " + txt.error()));
        }
        if (records.isEmpty()) {
            return new DomainReport.MtaSts(name, records, Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.empty());
        }
        if (records.size() > 1) {
            return new DomainReport.MtaSts(name, records, Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.of(records.size() + " v=STSv1 records: RFC 8461 says senders then"
                            + " ignore MTA-STS for the domain"));
        }
        Matcher id = TXT_ID.matcher(records.get(0));
        if (!id.find()) {
            return new DomainReport.MtaSts(name, records, Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.of("the record has no valid id (1-32 letters and digits)"));
        }
        URI uri = policyLocation.apply(domain);
        return fetchPolicy(name, records, id.group(1), uri);
    }

    /**
     * RFC 8461 section 3.3: HTTPS with a certificate valid for the policy host, no redirects, status
     * 200, at most 64 KiB.
     */
    private DomainReport.MtaSts fetchPolicy(String name, List<String> records, String id, URI uri) {
        Optional<String> where = Optional.of(uri.toString());
        TlsPolicy https = TlsPolicy.fullVerification(httpsTrust, policy.handshakeTimeout());
        try (HttpClient client = httpClient(https, uri.getHost())) {
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(policy.handshakeTimeout())
                    .header("User-Agent", "tlsrelay-probe").GET().build();
            HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            byte[] body;
            try (InputStream in = response.body()) {
                body = in.readNBytes(MtaStsPolicy.MAX_BYTES + 1);
            }
            if (response.statusCode() != 200) {
                return new DomainReport.MtaSts(name, records, Optional.of(id), where, Optional.of(response.statusCode()),
                        Optional.empty(), Optional.of("HTTP status " + response.statusCode()
                                + (response.statusCode() / 100 == 3 ? " (a redirect, which senders must not follow)" : "")));
            }
            if (body.length > MtaStsPolicy.MAX_BYTES) {
                return new DomainReport.MtaSts(name, records, Optional.of(id), where, Optional.of(200), Optional.empty(),
                        Optional.of("the policy is larger than " + MtaStsPolicy.MAX_BYTES + " bytes"));
            }
            MtaStsPolicy parsed = MtaStsPolicy.parse(new String(body, StandardCharsets.UTF_8));
            String type = response.headers().firstValue("Content-Type").orElse("");
            Optional<String> note = type.toLowerCase(Locale.ROOT).startsWith("text/plain") ? Optional.empty()
                    : Optional.of("served as \"" + SmtpConversation.printable(type) + "\", not text/plain");
            return new DomainReport.MtaSts(name, records, Optional.of(id), where, Optional.of(200), Optional.of(parsed),
                    note);
        } catch (IOException e) {
            return new DomainReport.MtaSts(name, records, Optional.of(id), where, Optional.empty(), Optional.empty(),
                    Optional.of("fetching it failed: " + TlsClient.describe(e)));
        } catch (GeneralSecurityException e) {
            return new DomainReport.MtaSts(name, records, Optional.of(id), where, Optional.empty(), Optional.empty(),
                    Optional.of("cannot set up TLS: " + e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new DomainReport.MtaSts(name, records, Optional.of(id), where, Optional.empty(), Optional.empty(),
                    Optional.of("interrupted"));
        }
    }

    /** A client that verifies the policy host with the relay's own trust manager and follows no redirect. */
    private static HttpClient httpClient(TlsPolicy https, String host) throws GeneralSecurityException {
        TlsClient tls = new TlsClient(https);
        return HttpClient.newBuilder()
                .sslContext(tls.contextVerifying(host))
                .sslParameters(tls.parametersFor(host))
                .connectTimeout(https.handshakeTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1)
                .proxy(HttpClient.Builder.NO_PROXY)
                .build();
    }

    private DomainReport.TlsRpt tlsRpt(String domain) {
        String name = "_smtp._tls." + domain;
        DnsLookup.Answer<String> txt = dns.txt(name);
        List<String> records = txt.values().stream().filter(t -> t.startsWith("v=TLSRPTv1")).toList();
        if (txt.status() == DnsLookup.Status.FAILED) {
            return new DomainReport.TlsRpt(name, records, List.of(), Optional.of("the TXT lookup failed: " + txt.error()));
        }
        if (records.size() != 1) {
            return new DomainReport.TlsRpt(name, records, List.of(), records.isEmpty() ? Optional.empty()
                    : Optional.of(records.size() + " v=TLSRPTv1 records: RFC 8460 says there must be exactly one"));
        }
        Matcher rua = RUA.matcher(records.get(0));
        List<String> targets = new ArrayList<>();
        if (rua.find()) {
            for (String t : rua.group(1).split(",")) {
                if (!t.isBlank()) {
                    targets.add(t.strip());
                }
            }
        }
        return new DomainReport.TlsRpt(name, records, targets, targets.isEmpty()
                ? Optional.of("the record has no rua= (where reports should go)") : Optional.empty());
    }
}
