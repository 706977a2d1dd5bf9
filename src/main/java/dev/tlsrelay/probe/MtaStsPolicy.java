package dev.tlsrelay.probe;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * An MTA-STS policy (RFC 8461 section 3.2) as parsed from {@code /.well-known/mta-sts.txt}.
 *
 * @param mode     {@code enforce}, {@code testing} or {@code none}
 * @param mx       the MX patterns, e.g. {@code mail.example.com}, {@code *.example.net}
 * @param maxAge   seconds senders may cache the policy
 * @param problems what makes the policy invalid, in words; empty for a valid policy
 */
public record MtaStsPolicy(String version, String mode, List<String> mx, OptionalLong maxAge, List<String> problems) {

    /** RFC 8461: a policy body larger than this is not read. */
    static final int MAX_BYTES = 64 * 1024;
    /** RFC 8461: max_age is at most one year. */
    static final long MAX_AGE_LIMIT = 31_557_600;

    public MtaStsPolicy {
        mx = List.copyOf(mx);
        problems = List.copyOf(problems);
    }

    public boolean valid() {
        return problems.isEmpty();
    }

    /** Parses a policy body; never throws, problems are listed instead. */
    static MtaStsPolicy parse(String body) {
        String version = "";
        String mode = "";
        OptionalLong maxAge = OptionalLong.empty();
        List<String> mx = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        boolean first = true;
        for (String raw : body.split("\r?\n")) {
            String line = raw.strip();
            if (line.isEmpty()) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                problems.add("line \"" + SmtpConversation.printable(line) + "\" is not \"key: value\"");
                continue;
            }
            String key = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).strip();
            if (first && !key.equals("version")) {
                problems.add("the first line must be \"version: STSv1\"");
            }
            first = false;
            switch (key) {
                case "version" -> version = value;
                case "mode" -> mode = value;
                case "mx" -> mx.add(value.toLowerCase(Locale.ROOT));
                case "max_age" -> {
                    try {
                        long v = Long.parseLong(value);
                        if (v < 0 || v > MAX_AGE_LIMIT) {
                            problems.add("max_age " + value + " is outside 0-" + MAX_AGE_LIMIT);
                        }
                        maxAge = OptionalLong.of(v);
                    } catch (NumberFormatException e) {
                        problems.add("max_age \"" + SmtpConversation.printable(value) + "\" is not a number");
                    }
                }
                default -> {
                    // RFC 8461: unknown fields are ignored (extensions).
                }
            }
        }
        if (!"STSv1".equals(version)) {
            problems.add(version.isEmpty() ? "version is missing" : "version \"" + version + "\" is not STSv1");
        }
        if (!List.of("enforce", "testing", "none").contains(mode)) {
            problems.add(mode.isEmpty() ? "mode is missing" : "mode \"" + mode + "\" is not enforce, testing or none");
        }
        if (maxAge.isEmpty() && problems.stream().noneMatch(p -> p.startsWith("max_age"))) {
            problems.add("max_age is missing");
        }
        if (mx.isEmpty() && !"none".equals(mode)) {
            problems.add("no mx line: the policy covers no MX host");
        }
        return new MtaStsPolicy(version, mode, mx, maxAge, problems);
    }

    /**
     * Whether an MX host is covered: an exact name, or {@code *.example.net} matching exactly one
     * extra label on the left ({@code mx1.example.net}, not {@code a.b.example.net}).
     */
    public boolean covers(String mxHost) {
        String host = mxHost.toLowerCase(Locale.ROOT);
        if (host.endsWith(".")) {
            host = host.substring(0, host.length() - 1);
        }
        for (String pattern : mx) {
            if (pattern.startsWith("*.")) {
                String suffix = pattern.substring(1);
                if (host.endsWith(suffix)) {
                    String label = host.substring(0, host.length() - suffix.length());
                    if (!label.isEmpty() && !label.contains(".")) {
                        return true;
                    }
                }
            } else if (host.equals(pattern)) {
                return true;
            }
        }
        return false;
    }
}
