package dev.tlsrelay.probe;

import java.util.ArrayList;
import java.util.List;

/** Verdict lines for a mail domain: DNS, each MX host, MTA-STS, TLS-RPT. */
final class DomainVerdicts {

    private DomainVerdicts() {}

    static List<Finding> judge(DomainReport r, boolean nullMx, int mxCount) {
        List<Finding> out = new ArrayList<>();
        mx(r, nullMx, mxCount, out);
        for (DomainReport.MxHost h : r.mxHosts()) {
            host(r, h, out);
        }
        mtaSts(r, out);
        tlsRpt(r, out);
        return out;
    }

    private static void mx(DomainReport r, boolean nullMx, int mxCount, List<Finding> out) {
        String d = r.domain();
        String example = "publish one naming your mail server, e.g. \"" + d + ". MX 10 mail." + d + ".\"";
        switch (r.mxLookup()) {
            case "no_domain" -> out.add(Finding.fail("no_domain", d + " does not exist in DNS (NXDOMAIN), so it has no"
                    + " MX record", "check the spelling; a mail domain needs an MX record: " + example));
            case "no_records" -> out.add(Finding.fail("no_mx", d + " has no MX record"
                    + (r.addresses().isEmpty() ? " and no A or AAAA record either"
                            : " (senders fall back to its address record: " + String.join(", ", r.addresses()) + ")"),
                    example));
            case "failed" -> out.add(Finding.fail("dns_failed", "the MX lookup for " + d + " failed: "
                    + r.mxError().orElse("?"), "check this machine's DNS resolvers (or ask another with --dns-server)"));
            default -> {
                if (nullMx) {
                    out.add(Finding.fail("null_mx", d + " publishes a null MX (\"MX 0 .\"): it accepts no mail",
                            "nothing to do if that is intended; otherwise " + example));
                } else if (mxCount > DomainProbe.MAX_MX_HOSTS) {
                    out.add(Finding.warn("many_mx", d + " has " + mxCount + " MX hosts; only the first "
                            + DomainProbe.MAX_MX_HOSTS + " were probed", "probe the others one by one with"
                            + " tlsrelay probe HOST:25"));
                }
            }
        }
    }

    private static void host(DomainReport r, DomainReport.MxHost h, List<Finding> out) {
        String who = h.host() + " (MX " + h.preference() + ")";
        if (h.probe().isEmpty()) {
            out.add(Finding.fail("mx_no_address", who + " has no address: " + h.addressError().orElse("?"),
                    "publish an A or AAAA record for " + h.host() + ", or remove the MX record"));
            return;
        }
        ProbeReport p = h.probe().get();
        for (Finding f : p.findings()) {
            if (f.severity() != Finding.Severity.OK || f.code().equals("tls_ok")) {
                out.add(new Finding(f.severity(), f.code(), who + ": " + f.message(), f.fix()));
            }
        }
    }

    private static void mtaSts(DomainReport r, List<Finding> out) {
        DomainReport.MtaSts s = r.mtaSts();
        String d = r.domain();
        if (!s.published()) {
            if (s.error().isPresent()) {
                out.add(Finding.warn("mta_sts_unknown", "MTA-STS record " + s.recordName() + " could not be read: "
                        + s.error().get(), "check this machine's DNS resolvers"));
            } else {
                out.add(Finding.warn("no_mta_sts", "no MTA-STS record (" + s.recordName() + " TXT)",
                        "publish \"v=STSv1; id=20260101\" there and a policy at " + DomainProbe.policyLocation(d)
                                + ", so senders can insist on verified TLS to your MX hosts"));
            }
            return;
        }
        if (s.policy().isEmpty()) {
            String where = s.policyUri().map(u -> " from " + u).orElse("");
            out.add(Finding.fail("mta_sts_broken", "MTA-STS is published but unusable" + where + ": "
                    + s.error().orElse("?"), s.policyUri().isEmpty()
                            ? "publish exactly one record \"v=STSv1; id=<1-32 letters and digits>\" at " + s.recordName()
                            : "serve the policy over HTTPS with a certificate valid for " + hostOf(s)
                                    + ", status 200 and no redirect"));
            return;
        }
        MtaStsPolicy p = s.policy().get();
        if (!p.valid()) {
            out.add(Finding.fail("mta_sts_invalid", "the MTA-STS policy is invalid: " + String.join("; ", p.problems()),
                    "fix the policy at " + s.policyUri().orElse("?") + " (RFC 8461 section 3.2)"));
            return;
        }
        s.error().ifPresent(note -> out.add(Finding.warn("mta_sts_content_type", "the MTA-STS policy is " + note,
                "serve it with Content-Type: text/plain")));
        List<String> uncovered = r.mxHosts().stream().filter(h -> h.policyCovered().equals(java.util.Optional.of(false)))
                .map(DomainReport.MxHost::host).toList();
        String summary = "MTA-STS policy mode " + p.mode() + ", max_age " + p.maxAge().orElse(0) + ", mx "
                + String.join(", ", p.mx());
        if (uncovered.isEmpty()) {
            out.add(Finding.ok("mta_sts_ok", summary + ": covers every MX host"));
            if (p.mode().equals("testing")) {
                out.add(Finding.warn("mta_sts_testing", "the MTA-STS policy is in testing mode: senders report"
                        + " failures but still deliver without verified TLS", "switch to mode: enforce once the"
                        + " TLS-RPT reports are clean"));
            }
            return;
        }
        String message = summary + ": it does not cover " + String.join(", ", uncovered);
        switch (p.mode()) {
            case "enforce" -> out.add(Finding.fail("mta_sts_mx_uncovered", message, "add them to the policy's mx"
                    + " lines, or senders enforcing MTA-STS will not deliver to them"));
            case "testing" -> out.add(Finding.warn("mta_sts_mx_uncovered", message, "add them to the policy's mx"
                    + " lines before switching to mode: enforce"));
            default -> out.add(Finding.ok("mta_sts_none", summary + " (mode none: MTA-STS is switched off)"));
        }
    }

    private static void tlsRpt(DomainReport r, List<Finding> out) {
        DomainReport.TlsRpt t = r.tlsRpt();
        if (t.records().isEmpty() && t.error().isEmpty()) {
            out.add(Finding.warn("no_tls_rpt", "no TLS-RPT record (" + t.recordName() + " TXT)",
                    "publish \"v=TLSRPTv1; rua=mailto:tls-reports@" + r.domain() + "\" to hear about senders'"
                            + " TLS failures"));
        } else if (t.error().isPresent()) {
            out.add(Finding.warn("tls_rpt_invalid", "TLS-RPT record " + t.recordName() + ": " + t.error().get(),
                    "publish exactly one \"v=TLSRPTv1; rua=mailto:...\" record"));
        } else {
            out.add(Finding.ok("tls_rpt_ok", "TLS-RPT reports go to " + String.join(", ", t.rua())));
        }
    }

    private static String hostOf(DomainReport.MtaSts s) {
        return s.policyUri().map(u -> java.net.URI.create(u).getHost()).orElse("the policy host");
    }
}
