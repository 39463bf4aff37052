package dev.skiff.autoscaler;

import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * The recent concurrency of one function as its invokers reported it: per invoker, the latest
 * sample of each second. Not thread-safe.
 *
 * <p>The concurrency of second {@code s} is the sum, over invokers, of inFlight + queued of each
 * invoker's latest sample taken by the end of that second (by {@code now} for the current second)
 * and not older than {@code sampleMaxAge} then. So a sample carries over a missed second, and an
 * invoker that falls silent stops counting {@code sampleMaxAge} after its last sample.
 *
 * <p>The averages cover the seconds from the first sample still kept (samples are dropped once no
 * window can use them) to the current second, at most a window's worth: after a restart or a long
 * silence the first seconds of data are not diluted by seconds nobody reported (Knative does the
 * same). The stable average is the plain mean of its seconds. The panic average weighs recent
 * seconds more, halving a second's weight every panicWindow / 12 (every 0.5 s for the default 6 s,
 * so the newest second carries 75%): a step in load shows in the first sample after it.
 */
final class ConcurrencyWindow {
    /** Per invoker, by epoch second, the latest sample of that second. */
    private final Map<String, TreeMap<Long, LoadSample>> byInvoker = new TreeMap<>();

    /**
     * What the window shows at one instant.
     *
     * @param stable   mean concurrency over the stable window
     * @param panic    recency-weighted concurrency over the panic window
     * @param latest   concurrency of the current second
     * @param replicas replicas the invokers that still count report
     */
    record Averages(double stable, double panic, long latest, int replicas) {
        static final Averages NONE = new Averages(0, 0, 0, 0);
    }

    /** Keeps the sample when it is the latest of its second for its invoker. The sample must be valid. */
    void record(LoadSample sample) {
        byInvoker.computeIfAbsent(sample.invoker(), k -> new TreeMap<>())
                .merge(sample.at().getEpochSecond(), sample, (kept, added) -> added.at().isBefore(kept.at()) ? kept : added);
    }

    /** Drops samples no window ending at {@code now} or later can use, and invokers left without any. */
    void prune(Instant now, ScalingConfig config) {
        Instant windowStart = Instant.ofEpochSecond(now.getEpochSecond() - config.stableWindowSeconds() + 1);
        long oldestUseful = windowStart.plusSeconds(1).minus(config.sampleMaxAge()).getEpochSecond();
        for (Iterator<TreeMap<Long, LoadSample>> it = byInvoker.values().iterator(); it.hasNext(); ) {
            TreeMap<Long, LoadSample> seconds = it.next();
            seconds.headMap(oldestUseful).clear();
            if (seconds.isEmpty()) it.remove();
        }
    }

    boolean isEmpty() {
        return byInvoker.isEmpty();
    }

    Averages averages(Instant now, ScalingConfig config) {
        long nowSecond = now.getEpochSecond();
        long firstData = Long.MAX_VALUE;
        for (TreeMap<Long, LoadSample> seconds : byInvoker.values()) firstData = Math.min(firstData, seconds.firstKey());
        if (firstData > nowSecond) return Averages.NONE;
        long start = Math.max(firstData, nowSecond - config.stableWindowSeconds() + 1);
        long[] perSecond = new long[(int) (nowSecond - start + 1)];
        for (int i = 0; i < perSecond.length; i++) perSecond[i] = concurrencyOf(start + i, now, config.sampleMaxAge());

        double sum = 0;
        for (long c : perSecond) sum += c;
        double stable = sum / perSecond.length;

        double decay = Math.pow(0.5, 12.0 / config.panicWindowSeconds());
        int panicSeconds = Math.min(perSecond.length, config.panicWindowSeconds());
        double weighted = 0;
        double weights = 0;
        double weight = 1;
        for (int age = 0; age < panicSeconds; age++, weight *= decay) {
            weighted += weight * perSecond[perSecond.length - 1 - age];
            weights += weight;
        }
        return new Averages(stable, weighted / weights, perSecond[perSecond.length - 1], reportedReplicas(now, config.sampleMaxAge()));
    }

    private long concurrencyOf(long second, Instant now, Duration maxAge) {
        Instant end = second == now.getEpochSecond() ? now : Instant.ofEpochSecond(second + 1);
        long total = 0;
        for (TreeMap<Long, LoadSample> seconds : byInvoker.values()) {
            LoadSample s = latest(seconds, second, end, maxAge);
            if (s != null) total += s.demand();
        }
        return total;
    }

    int reportedReplicas(Instant now, Duration maxAge) {
        long total = 0;
        for (TreeMap<Long, LoadSample> seconds : byInvoker.values()) {
            LoadSample s = latest(seconds, now.getEpochSecond(), now, maxAge);
            if (s != null) total += s.replicas();
        }
        return (int) Math.min(Integer.MAX_VALUE, total);
    }

    /** The invoker's latest sample taken by {@code end} (within {@code second} or before), if not older than maxAge then. */
    private static LoadSample latest(TreeMap<Long, LoadSample> seconds, long second, Instant end, Duration maxAge) {
        Map.Entry<Long, LoadSample> e = seconds.floorEntry(second);
        if (e != null && e.getValue().at().isAfter(end)) e = seconds.lowerEntry(e.getKey()); // taken after now
        if (e == null) return null;
        LoadSample s = e.getValue();
        return Duration.between(s.at(), end).compareTo(maxAge) > 0 ? null : s;
    }
}
