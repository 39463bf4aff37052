package dev.skiff.server.scale;

import dev.skiff.autoscaler.Backlog;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The latest backlog each trigger consumer reported per function, for the autoscaler role
 * (clock-free: {@code now} is passed in; thread-safe). A report older than the function's
 * sampleMaxAge no longer counts: its consumer stopped, or its partitions moved to another
 * consumer, which reports them itself.
 */
final class BacklogSignal {
    private final Map<String, Map<String, Backlog>> latest = new ConcurrentHashMap<>();

    void observed(Backlog b) {
        latest.computeIfAbsent(b.function(), f -> new ConcurrentHashMap<>()).put(b.source(), b);
    }

    List<Backlog> fresh(String function, Instant now, Duration maxAge) {
        Map<String, Backlog> bySource = latest.get(function);
        if (bySource == null) return List.of();
        Instant oldest = now.minus(maxAge);
        return bySource.values().stream().filter(b -> b.at().isAfter(oldest)).toList();
    }

    void forget(String function) {
        latest.remove(function);
    }

    void clear() {
        latest.clear();
    }
}
