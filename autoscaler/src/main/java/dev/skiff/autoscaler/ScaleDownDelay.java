package dev.skiff.autoscaler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;

/**
 * Knative's scale-down delay: the answer is the highest desired count of the decisions made less
 * than the delay ago, this one included, so a scale-down waits out the delay while a scale-up is
 * never held back.
 */
final class ScaleDownDelay {
    private record Entry(Instant at, int desired) {}

    /** Decisions that may still be the highest: desired counts strictly falling, oldest first. */
    private final ArrayDeque<Entry> candidates = new ArrayDeque<>();

    int apply(Instant now, int desired, Duration delay) {
        if (delay.isZero()) {
            candidates.clear();
            return desired;
        }
        while (!candidates.isEmpty() && candidates.peekLast().desired() <= desired) candidates.pollLast();
        candidates.addLast(new Entry(now, desired));
        while (Duration.between(candidates.peekFirst().at(), now).compareTo(delay) >= 0) candidates.pollFirst();
        return candidates.peekFirst().desired();
    }
}
