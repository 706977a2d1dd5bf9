package dev.tlsrelay.probe;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What a probe of a mail domain found: its MX hosts (each probed on port 25 with STARTTLS), its
 * MTA-STS record and policy, and its TLS-RPT record.
 *
 * @param mxLookup  how the MX question came out: {@code found}, {@code no_domain}, {@code no_records},
 *                  {@code failed}
 * @param addresses when there is no MX: the domain's own A/AAAA records, which senders fall back to
 */
public record DomainReport(
        String domain,
        Instant at,
        String resolver,
        String mxLookup,
        Optional<String> mxError,
        List<MxHost> mxHosts,
        List<String> addresses,
        MtaSts mtaSts,
        TlsRpt tlsRpt,
        List<Finding> findings) {

    public DomainReport {
        mxHosts = List.copyOf(mxHosts);
        addresses = List.copyOf(addresses);
        findings = List.copyOf(findings);
    }

    /**
     * One MX host.
     *
     * @param address       the address probed (the first A, else AAAA record)
     * @param probe         the probe of that address, named as the MX host
     * @param policyCovered whether the MTA-STS policy lists it; empty without a valid policy
     */
    public record MxHost(String host, int preference, Optional<String> address, Optional<String> addressError,
            Optional<ProbeReport> probe, Optional<Boolean> policyCovered) {

        public boolean relayWouldSucceed() {
            return probe.map(ProbeReport::relayWouldSucceed).orElse(false);
        }
    }

    /**
     * The domain's MTA-STS (RFC 8461).
     *
     * @param records    the TXT records at {@code _mta-sts.DOMAIN} that start with {@code v=STSv1}
     * @param id         the policy id from the record
     * @param policyUri  where the policy was fetched from
     * @param httpStatus the HTTP status of the fetch
     * @param error      why there is no usable record or policy
     */
    public record MtaSts(String recordName, List<String> records, Optional<String> id, Optional<String> policyUri,
            Optional<Integer> httpStatus, Optional<MtaStsPolicy> policy, Optional<String> error) {

        public MtaSts {
            records = List.copyOf(records);
        }

        public boolean published() {
            return !records.isEmpty();
        }
    }

    /**
     * The domain's TLS-RPT (RFC 8460).
     *
     * @param records the TXT records at {@code _smtp._tls.DOMAIN} that start with {@code v=TLSRPTv1}
     * @param rua     where reports go ({@code mailto:} or {@code https:} URIs)
     */
    public record TlsRpt(String recordName, List<String> records, List<String> rua, Optional<String> error) {

        public TlsRpt {
            records = List.copyOf(records);
            rua = List.copyOf(rua);
        }
    }

    /** 0 if every MX host works with the relay's policy and nothing was found that fails; 1 otherwise. */
    public int exitCode() {
        boolean allMx = !mxHosts.isEmpty() && mxHosts.stream().allMatch(MxHost::relayWouldSucceed);
        boolean noFail = findings.stream().noneMatch(f -> f.severity() == Finding.Severity.FAIL);
        return allMx && noFail ? 0 : 1;
    }
}
