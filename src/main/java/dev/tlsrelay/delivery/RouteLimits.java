package dev.tlsrelay.delivery;

import dev.tlsrelay.route.RoutePacer;
import dev.tlsrelay.route.RouteTable;
import dev.tlsrelay.upstream.SmtpReply;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** A route's limits as SMTP replies to the client: the one place their codes and words are chosen. */
final class RouteLimits {

    private RouteLimits() {}

    /**
     * 552 5.3.4 when the declared size is above the limit of every route the message could take, so
     * it is refused before any upstream connection instead of failing upstream after the transfer.
     */
    static Optional<SmtpReply> sizeRefusal(RouteTable routes, List<String> candidates, long declaredSize) {
        if (declaredSize <= 0) {
            return Optional.empty();
        }
        long largest = 0;
        String name = candidates.get(0);
        for (String c : candidates) {
            long max = routes.route(c).limits().maxMessageSize();
            if (max == 0) {
                return Optional.empty();
            }
            if (max > largest) {
                largest = max;
                name = c;
            }
        }
        if (declaredSize <= largest) {
            return Optional.empty();
        }
        return Optional.of(tooLarge(name, largest));
    }

    static SmtpReply tooLarge(String route, long max) {
        return new SmtpReply(552, "5.3.4 Message too large for route " + route + " (at most " + max + " bytes);"
                + " not sent");
    }

    /**
     * Pass-through: waits (up to {@code rate.max-wait}) for the route's rate and any throttling
     * backoff; then the 451 to give when the budget did not come in time.
     */
    static Optional<SmtpReply> awaitBudget(RouteTable.Route route) {
        RoutePacer pacer = route.pacer();
        Instant deadline = pacer.clock().instant().plus(route.limits().maxWait());
        while (true) {
            Optional<Instant> ready = pacer.tryAcquire(0);
            if (ready.isEmpty()) {
                return Optional.empty();
            }
            if (ready.get().isAfter(deadline)) {
                String why = pacer.backoffUntil().isPresent() ? "paused after its upstream asked the relay to slow"
                        + " down" : "at its sending rate (" + route.limits().messagesPerMinute() + " messages a minute)";
                return Optional.of(new SmtpReply(451, "4.7.0 Route " + route.name() + " is " + why
                        + "; try again after " + ready.get()));
            }
            long ms = Math.max(1, Duration.between(pacer.clock().instant(), ready.get()).toMillis());
            try {
                Thread.sleep(Math.min(ms, route.limits().maxWait().toMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.of(new SmtpReply(421, "4.3.2 Relay shutting down, try again later"));
            }
        }
    }

    /** Pass-through: a recipient over the route's per-message or daily limit. */
    static Optional<SmtpReply> recipientRefusal(RouteTable.Route route, int acceptedSoFar) {
        int perMessage = route.limits().maxRecipientsPerMessage();
        if (perMessage > 0 && acceptedSoFar >= perMessage) {
            // RFC 5321 4.5.3.1.10: the client sends the rest in another transaction.
            return Optional.of(new SmtpReply(452, "4.5.3 Too many recipients for route " + route.name() + " (at most "
                    + perMessage + " a message); send the rest in another message"));
        }
        Optional<Instant> renewed = route.pacer().tryAcquireRecipients(1);
        return renewed.map(at -> new SmtpReply(451, "4.7.0 Route " + route.name() + " has sent its "
                + route.limits().recipientsPerDay() + " recipients for today; try again after " + at));
    }

    /** The body, refused with 552 5.3.4 as soon as it grows past the route's limit. */
    static InputStream capped(InputStream body, RouteTable.Route route) {
        long max = route.limits().maxMessageSize();
        return max <= 0 ? body : capped(body, route.name(), max);
    }

    static InputStream capped(InputStream body, String route, long max) {
        return new FilterInputStream(body) {
            private long seen;

            @Override
            public int read() throws IOException {
                int b = super.read();
                count(b < 0 ? 0 : 1);
                return b;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                int n = super.read(buf, off, len);
                count(Math.max(0, n));
                return n;
            }

            private void count(int n) throws BodyRejectedException {
                seen += n;
                if (seen > max) {
                    throw new BodyRejectedException(tooLarge(route, max));
                }
            }
        };
    }
}
