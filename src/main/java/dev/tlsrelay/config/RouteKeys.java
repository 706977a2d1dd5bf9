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
 *
 * <p>Routes are declared in the file; {@code TLSRELAY_ROUTE_<NAME>_<KEY>} overrides a key of a
 * declared route (NAME and KEY upper-cased, {@code .} and {@code -} as {@code _}). Such a variable
 * that names no declared route and key is an error, never ignored: a misspelt password variable
 * must not leave a route sending without its credentials.
 */
final class RouteKeys {

    static final String PREFIX = "route.";
    static final String ENV_PREFIX = "TLSRELAY_ROUTE_";
    private static final Pattern KEY = Pattern.compile("route\\.([a-z0-9][a-z0-9-]{0,31})\\.(.+)");
    private static final Set<String> SELECTORS = Set.of("senders", "recipient-domains", "clients");
    /** The one route key with a second spelling: {@code max-connections} is {@code pool.max-connections}. */
    private static final String SHORT = "max-connections";

    private RouteKeys() {}

    static List<Routing.NamedRoute> parse(Map<String, String> fileValues, Map<String, String> environment,
            List<String> problems, List<String> warnings) {
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
            if (Key.byName(target(suffix)).isEmpty()) {
                problems.add(e.getKey() + ": unknown route key; a route takes senders, recipient-domains, clients"
                        + " and the upstream.* keys without \"upstream.\" (host, preset, auth.username, ...)");
                continue;
            }
            putOnce(upstreamKeys.get(name), target(suffix), new RouteKey(name, suffix), false, e.getValue(), problems);
        }
        Map<String, Map<String, String>> environmentKeys = new LinkedHashMap<>();
        upstreamKeys.keySet().forEach(n -> environmentKeys.put(n, new LinkedHashMap<>()));
        for (Map.Entry<String, String> e : new java.util.TreeMap<>(environment).entrySet()) {
            if (!e.getKey().startsWith(ENV_PREFIX)) {
                continue;
            }
            List<RouteKey> meant = environmentMatches(e.getKey(), upstreamKeys.keySet(), problems);
            if (meant.size() != 1 || e.getValue() == null || e.getValue().isBlank()) {
                continue;
            }
            RouteKey k = meant.get(0);
            if (SELECTORS.contains(k.suffix())) {
                selectorKeys.get(k.name()).put(k.suffix(), e.getValue().trim());
            } else {
                putOnce(environmentKeys.get(k.name()), Key.byName(target(k.suffix())).orElseThrow()
                        .environmentVariable(), k, true, e.getValue(), problems);
            }
        }
        List<Routing.NamedRoute> out = new ArrayList<>();
        for (String name : upstreamKeys.keySet()) {
            List<String> routeProblems = new ArrayList<>();
            List<String> routeWarnings = new ArrayList<>();
            Routing.Selectors selectors = selectors(name, selectorKeys.get(name), routeProblems);
            Routing.NamedRoute route = ConfigLoader.namedRoute(name, selectors, upstreamKeys.get(name),
                    environmentKeys.get(name), routeProblems, routeWarnings);
            routeProblems.forEach(p -> problems.add(rename(p, name)));
            routeWarnings.forEach(w -> warnings.add(rename(w, name)));
            out.add(new Routing.NamedRoute(name, selectors, route.upstream(), route.limits(),
                    route.settings().stream().map(s -> new Routing.RouteSetting(rename(s.key(), name), s.shown(),
                            s.origin())).toList()));
        }
        return out;
    }

    /**
     * Records one route key under the {@code upstream.*} key (or variable) it stands for. The two
     * spellings of {@code max-connections} with different values are a problem: neither silently
     * wins. With the same value they are harmless.
     */
    private static void putOnce(Map<String, String> values, String target, RouteKey key, boolean environment,
            String value, List<String> problems) {
        String previous = values.putIfAbsent(target, value);
        if (previous == null || previous.strip().equals(value.strip())) {
            return;
        }
        boolean isShort = key.suffix().equals(SHORT);
        RouteKey shortKey = new RouteKey(key.name(), SHORT);
        RouteKey longKey = new RouteKey(key.name(), target(SHORT).substring("upstream.".length()));
        problems.add(spelled(shortKey, environment) + " = " + (isShort ? value : previous).strip() + " and "
                + spelled(longKey, environment) + " = " + (isShort ? previous : value).strip() + " disagree: "
                + SHORT + " is short for " + longKey.suffix() + "; keep one of them");
    }

    private static String spelled(RouteKey k, boolean environment) {
        return environment ? k.environmentVariable() : PREFIX + k.name() + "." + k.suffix();
    }

    /** The {@code upstream.*} key a route key stands for. */
    private static String target(String suffix) {
        return "upstream." + (suffix.equals(SHORT) ? "pool.max-connections" : suffix);
    }

    /** One key of one route: {@code route.NAME.SUFFIX}. */
    private record RouteKey(String name, String suffix) {
        String environmentVariable() {
            return ENV_PREFIX + environmentPart(name) + "_" + environmentPart(suffix);
        }
    }

    private static String environmentPart(String s) {
        return s.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** Every key a route takes, after {@code route.NAME.}. */
    private static List<String> suffixes() {
        List<String> out = new ArrayList<>(SELECTORS);
        out.add(SHORT);
        for (Key k : Key.values()) {
            if (k.key().startsWith("upstream.")) {
                out.add(k.key().substring("upstream.".length()));
            }
        }
        return out;
    }

    /**
     * The declared route keys a {@code TLSRELAY_ROUTE_*} variable names: exactly one, or a problem
     * is recorded (none: a typo or an undeclared route; several: route names that collide once
     * upper-cased, such as {@code lab} + {@code pool.max-connections} and {@code lab-pool} +
     * {@code max-connections}). The variable's value never appears in a problem.
     */
    private static List<RouteKey> environmentMatches(String variable, java.util.Collection<String> names,
            List<String> problems) {
        List<RouteKey> candidates = new ArrayList<>();
        for (String name : names) {
            for (String suffix : suffixes()) {
                candidates.add(new RouteKey(name, suffix));
            }
        }
        List<RouteKey> meant = candidates.stream().filter(k -> k.environmentVariable().equals(variable)).toList();
        if (meant.size() > 1) {
            problems.add(variable + " is ambiguous: it could set " + String.join(" or ", meant.stream()
                    .map(k -> PREFIX + k.name() + "." + k.suffix()).toList()) + "; rename one of those routes");
        } else if (meant.isEmpty()) {
            String expected = names.isEmpty()
                    ? "no route is declared in the config file; routes are declared there (route.NAME.senders, ...)"
                            + " and TLSRELAY_ROUTE_<NAME>_<KEY> only overrides their keys"
                    : "TLSRELAY_ROUTE_<NAME>_<KEY> for a route declared in the config file (" + String.join(", ", names)
                            + ") and one of its keys, e.g. " + new RouteKey(names.iterator().next(), "auth.password")
                                    .environmentVariable();
            String hint = variable.startsWith(ENV_PREFIX + Routing.DEFAULT.toUpperCase(Locale.ROOT) + "_")
                    ? " (the default route is upstream.*: use TLSRELAY_UPSTREAM_...)"
                    : candidates.stream().map(RouteKey::environmentVariable)
                            .min(java.util.Comparator.comparingInt(v -> ConfigLoader.distance(variable, v)))
                            .filter(v -> ConfigLoader.distance(variable, v) <= 3)
                            .map(v -> " (did you mean " + v + "?)").orElse("");
            problems.add(variable + " is set but names no route key" + hint + ": expected " + expected);
        }
        return meant;
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

    /**
     * {@code upstream.auth.username} in a route's messages becomes {@code route.NAME.auth.username},
     * and {@code TLSRELAY_UPSTREAM_HOST} becomes {@code TLSRELAY_ROUTE_NAME_HOST}.
     */
    static String rename(String text, String name) {
        return text.replaceAll("\\bupstream\\.(?=[a-z])", Matcher.quoteReplacement(PREFIX + name + "."))
                .replace("TLSRELAY_UPSTREAM_", ENV_PREFIX + environmentPart(name) + "_");
    }
}
