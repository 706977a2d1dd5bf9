package dev.tlsrelay.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the {@code route.NAME.*} keys: selectors ({@code senders}, {@code recipient-domains},
 * {@code clients}) plus the {@code upstream.*} keys without their prefix, which the same code as the
 * default upstream validates. Problems name the {@code route.NAME.*} key the user wrote.
 */
final class RouteKeys {

    static final String PREFIX = "route.";
    private static final Pattern KEY = Pattern.compile("route\\.([a-z0-9][a-z0-9-]{0,31})\\.(.+)");
    private static final Set<String> SELECTORS = Set.of("senders", "recipient-domains", "clients");

    private RouteKeys() {}

    static List<Routing.NamedRoute> parse(Map<String, String> fileValues, List<String> problems,
            List<String> warnings) {
        Map<String, Map<String, String>> upstreamKeys = new LinkedHashMap<>();
        Map<String, Map<String, String>> selectorKeys = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : fileValues.entrySet()) {
            if (!e.getKey().startsWith(PREFIX)) {
                continue;
            }
            Matcher m = KEY.matcher(e.getKey());
            if (!m.matches()) {
                problems.add(e.getKey() + ": expected route.NAME.KEY with a NAME of lower-case letters, digits and"
                        + " dashes, e.g. route.scans.senders");
                continue;
            }
            String name = m.group(1);
            String suffix = m.group(2);
            if (name.equals(Routing.DEFAULT)) {
                problems.add(e.getKey() + ": the route name \"default\" is the upstream.* route; set upstream."
                        + suffix + " instead");
                continue;
            }
            upstreamKeys.computeIfAbsent(name, n -> new LinkedHashMap<>());
            selectorKeys.computeIfAbsent(name, n -> new LinkedHashMap<>());
            if (e.getValue() == null || e.getValue().isBlank()) {
                continue;
            }
            if (SELECTORS.contains(suffix)) {
                selectorKeys.get(name).put(suffix, e.getValue().trim());
                continue;
            }
            String target = "upstream." + (suffix.equals("max-connections") ? "pool.max-connections" : suffix);
            if (Key.byName(target).isEmpty()) {
                problems.add(e.getKey() + ": unknown route key; a route takes senders, recipient-domains, clients"
                        + " and the upstream.* keys without \"upstream.\" (host, preset, auth.username, ...)");
                continue;
            }
            upstreamKeys.get(name).put(target, e.getValue());
        }
        List<Routing.NamedRoute> out = new ArrayList<>();
        for (String name : upstreamKeys.keySet()) {
            List<String> routeProblems = new ArrayList<>();
            List<String> routeWarnings = new ArrayList<>();
            Routing.Selectors selectors = selectors(name, selectorKeys.get(name), routeProblems);
            Routing.NamedRoute route = ConfigLoader.namedRoute(name, selectors, upstreamKeys.get(name), routeProblems,
                    routeWarnings);
            routeProblems.forEach(p -> problems.add(rename(p, name)));
            routeWarnings.forEach(w -> warnings.add(rename(w, name)));
            out.add(new Routing.NamedRoute(name, selectors, route.upstream(), route.limits(),
                    route.settings().stream().map(s -> new Routing.RouteSetting(rename(s.key(), name), s.shown(),
                            s.origin())).toList()));
        }
        return out;
    }

    private static Routing.Selectors selectors(String name, Map<String, String> keys, List<String> problems) {
        List<String> senders = list(keys.get("senders"));
        for (String s : senders) {
            if (!s.matches("[^@\\s<>]*@[A-Za-z0-9.-]+")) {
                problems.add(PREFIX + name + ".senders = " + s + ": expected addresses (scans@corp.test) or domains"
                        + " (@corp.test)");
            }
        }
        List<String> domains = list(keys.get("recipient-domains")).stream()
                .map(d -> d.startsWith("@") ? d.substring(1) : d).map(d -> d.toLowerCase(Locale.ROOT)).toList();
        for (String d : domains) {
            if (!d.matches("[a-z0-9.-]+\\.[a-z0-9-]+")) {
                problems.add(PREFIX + name + ".recipient-domains = " + d + ": expected domains such as partner.test");
            }
        }
        List<Cidr> clients = new ArrayList<>();
        for (String c : list(keys.get("clients"))) {
            try {
                clients.add(Cidr.parse(c));
            } catch (RuntimeException e) {
                problems.add(PREFIX + name + ".clients = " + c + ": expected CIDR networks such as 192.168.20.0/24");
            }
        }
        if (senders.isEmpty() && domains.isEmpty() && clients.isEmpty()) {
            problems.add("route " + name + " has no selector, so it could never be chosen: set " + PREFIX + name
                    + ".senders, .recipient-domains or .clients");
        }
        return new Routing.Selectors(senders.stream().map(s -> s.toLowerCase(Locale.ROOT)).toList(), domains,
                clients);
    }

    private static List<String> list(String v) {
        return v == null ? List.of()
                : Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    /** {@code upstream.auth.username} in a route's messages becomes {@code route.NAME.auth.username}. */
    static String rename(String text, String name) {
        return text.replaceAll("\\bupstream\\.(?=[a-z])", Matcher.quoteReplacement(PREFIX + name + "."))
                .replaceAll(" or TLSRELAY_UPSTREAM_[A-Z_]+", "");
    }
}
