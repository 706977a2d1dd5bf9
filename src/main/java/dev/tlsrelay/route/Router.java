package dev.tlsrelay.route;

import dev.tlsrelay.config.Cidr;
import dev.tlsrelay.config.Routing;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Decides which route a recipient of a message takes: the first named route whose selectors all
 * match (sender, recipient domain, client network), else the default upstream. Pure: no I/O, so
 * {@code tlsrelay route} explains exactly what the running relay does.
 */
public final class Router {

    private final Routing routing;

    public Router(Routing routing) {
        this.routing = routing;
    }

    /**
     * The route of one recipient and why.
     *
     * @param route the route's name, {@link Routing#DEFAULT} for {@code upstream.*}
     * @param why   in plain words, for logs and {@code tlsrelay route}
     */
    public record Choice(String route, String why) {}

    public Choice choose(String sender, String recipient, String clientAddress) {
        List<String> passed = new ArrayList<>();
        for (Routing.NamedRoute r : routing.routes()) {
            Optional<String> miss = mismatch(r.selectors(), sender, Optional.of(recipient), clientAddress);
            if (miss.isEmpty()) {
                return new Choice(r.name(), "route " + r.name() + " matches: " + matched(r.selectors(), sender,
                        recipient, clientAddress) + (passed.isEmpty() ? "" : " (" + String.join("; ", passed) + ")"));
            }
            passed.add("not " + r.name() + ": " + miss.get());
        }
        return new Choice(Routing.DEFAULT, (passed.isEmpty() ? "no named route is configured"
                : "no named route matches (" + String.join("; ", passed) + ")") + ", so upstream.* takes it");
    }

    /**
     * Routes a message from this sender and client could take, whatever its recipients: the named
     * routes whose sender and client selectors match, and the default.
     */
    public List<String> candidates(String sender, String clientAddress) {
        List<String> out = new ArrayList<>();
        for (Routing.NamedRoute r : routing.routes()) {
            if (mismatch(r.selectors(), sender, Optional.empty(), clientAddress).isEmpty()) {
                out.add(r.name());
                if (r.selectors().recipientDomains().isEmpty()) {
                    return out; // it takes every recipient: nothing after it can be reached
                }
            }
        }
        out.add(Routing.DEFAULT);
        return out;
    }

    /** Why the selectors do not match, if they do not; an absent recipient matches any domain. */
    private static Optional<String> mismatch(Routing.Selectors s, String sender, Optional<String> recipient,
            String clientAddress) {
        if (!s.senders().isEmpty() && s.senders().stream().noneMatch(p -> senderMatches(p, sender))) {
            return Optional.of("sender <" + sender + "> is not in " + s.senders());
        }
        if (recipient.isPresent() && !s.recipientDomains().isEmpty()
                && !s.recipientDomains().contains(domain(recipient.get()))) {
            return Optional.of("recipient domain " + domain(recipient.get()) + " is not in " + s.recipientDomains());
        }
        if (!s.clients().isEmpty() && s.clients().stream().noneMatch(c -> contains(c, clientAddress))) {
            return Optional.of("client " + clientAddress + " is not in " + s.clients());
        }
        return Optional.empty();
    }

    private static String matched(Routing.Selectors s, String sender, String recipient, String client) {
        List<String> why = new ArrayList<>();
        if (!s.senders().isEmpty()) {
            why.add("sender <" + sender + "> is in " + s.senders());
        }
        if (!s.recipientDomains().isEmpty()) {
            why.add("recipient domain " + domain(recipient) + " is in " + s.recipientDomains());
        }
        if (!s.clients().isEmpty()) {
            why.add("client " + client + " is in " + s.clients());
        }
        return String.join(", ", why);
    }

    private static boolean senderMatches(String pattern, String sender) {
        String s = sender.toLowerCase(Locale.ROOT);
        return pattern.startsWith("@") ? s.endsWith(pattern) && s.indexOf('@') == s.length() - pattern.length()
                : s.equals(pattern);
    }

    static String domain(String address) {
        int at = address.lastIndexOf('@');
        return at < 0 ? "" : address.substring(at + 1).toLowerCase(Locale.ROOT);
    }

    private static boolean contains(Cidr cidr, String address) {
        if (address == null || !(address.matches("[0-9.]+") || address.contains(":"))) {
            return false; // only literal addresses: routing never depends on DNS
        }
        try {
            return cidr.contains(InetAddress.getByName(address));
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
