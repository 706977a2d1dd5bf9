package dev.tlsrelay.support;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A UTC clock that only moves when told to, and only forward: minutes of pacing in a test's seconds. */
public final class ManualClock extends Clock {

    private volatile Instant now;

    public ManualClock(Instant start) {
        this.now = start;
    }

    /** Moves to {@code t}, if that is later than now. */
    public synchronized void advanceTo(Instant t) {
        if (t.isAfter(now)) {
            now = t;
        }
    }

    /** Moves forward by {@code d}; returns the new time. */
    public synchronized Instant advance(Duration d) {
        advanceTo(now.plus(d));
        return now;
    }

    @Override
    public Instant instant() {
        return now;
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }
}
