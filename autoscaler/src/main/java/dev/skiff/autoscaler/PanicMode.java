package dev.skiff.autoscaler;

import java.time.Duration;
import java.time.Instant;

/**
 * Knative's panic mode, as a clock-free state machine: a decision whose panic condition holds
 * starts or extends it; it ends at the first decision whose condition does not hold once a stable
 * window has passed since the last one whose condition did.
 */
final class PanicMode {
    private Instant lastTrigger;

    /** Takes one decision's panic condition into account; returns whether the function is panicking. */
    boolean update(Instant now, boolean conditionHolds, Duration stableWindow) {
        if (conditionHolds) {
            if (lastTrigger == null || now.isAfter(lastTrigger)) lastTrigger = now;
        } else if (lastTrigger != null && !now.isBefore(lastTrigger.plus(stableWindow))) {
            lastTrigger = null;
        }
        return lastTrigger != null;
    }

    /** How long a panic lasts at least from {@code now} on, if its condition no longer holds. */
    Duration remaining(Instant now, Duration stableWindow) {
        return lastTrigger == null ? Duration.ZERO : Duration.between(now, lastTrigger.plus(stableWindow));
    }
}
