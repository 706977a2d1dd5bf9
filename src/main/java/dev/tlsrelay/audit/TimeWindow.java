package dev.tlsrelay.audit;

import java.time.Instant;
import java.util.Optional;

/** The events a review looks at: {@code since <= ts < until}, either end open. */
public record TimeWindow(Optional<Instant> since, Optional<Instant> until) {

    public static final TimeWindow ALL = new TimeWindow(Optional.empty(), Optional.empty());

    public TimeWindow {
        if (since.isPresent() && until.isPresent() && !since.get().isBefore(until.get())) {
            throw new IllegalArgumentException("the start " + since.get() + " is not before the end " + until.get());
        }
    }

    public boolean contains(Instant t) {
        return since.map(s -> !t.isBefore(s)).orElse(true) && until.map(t::isBefore).orElse(true);
    }

    /** "all events", "since X", "X to Y", for headings. */
    public String describe() {
        if (since.isEmpty() && until.isEmpty()) {
            return "all events";
        }
        return since.map(s -> "from " + s).orElse("up") + until.map(u -> " until " + u).orElse(" on");
    }
}
