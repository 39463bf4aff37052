package dev.skiff.server.scale;

import dev.skiff.autoscaler.Decision;
import dev.skiff.autoscaler.LoadSample;
import dev.skiff.autoscaler.ScalingConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the autoscaler role adds around the pure decision, because it runs as a service that
 * starts, stops and sees functions come and go (clock-free like the decision: every method gets
 * {@code now}; thread-safe):
 *
 * <ul>
 *   <li>no decision for a function without a fresh sample of it ({@link #reported}): a decision
 *       made from nothing would say zero;
 *   <li>a deploy, and the role's own (re)start, count as a call: a replica that exists then
 *       stays for stableWindow + scaleToZeroGrace (so the replica a deploy waited for, or every
 *       idle replica when the autoscaler comes back, is not stopped at the first decision); it
 *       never starts one: with no replica reported, zero stays zero;
 *   <li>which invokers reported a function lately, and their replicas, to spread the decision over them.
 * </ul>
 */
final class DecisionGuards {
    private record Known(Instant keepOneUntil, Duration sampleMaxAge) {}

    private final Map<String, Known> functions = new ConcurrentHashMap<>();
    /** The latest sample of each invoker, per function. */
    private final Map<String, Map<String, LoadSample>> lastSamples = new ConcurrentHashMap<>();
    private volatile Instant startedAt;

    DecisionGuards(Instant startedAt) {
        this.startedAt = startedAt;
    }

    /** Forgets everything, as a restarted role would know nothing. */
    void restart(Instant now) {
        functions.clear();
        lastSamples.clear();
        startedAt = now;
    }

    /** A deployed function (called every tick): its current version was deployed at {@code deployedAt}. */
    void deployed(String function, ScalingConfig config, Instant deployedAt, Instant now) {
        Instant since = deployedAt.isAfter(startedAt) ? deployedAt : startedAt;
        Instant keepOneUntil = since.plus(config.stableWindow()).plus(config.scaleToZeroGrace());
        functions.put(function, new Known(keepOneUntil, config.sampleMaxAge()));
    }

    void forget(String function) {
        functions.remove(function);
        lastSamples.remove(function);
    }

    /** A sample the decision used. */
    void observed(LoadSample sample) {
        lastSamples.computeIfAbsent(sample.function(), f -> new ConcurrentHashMap<>()).put(sample.invoker(), sample);
    }

    /** The decision to publish: {@code d}, or 1 instead of 0 while a deploy or restart keeps the last replica. */
    Decision adjust(String function, Decision d, Instant now) {
        Known known = functions.get(function);
        if (d.desiredReplicas() > 0 || known == null || !now.isBefore(known.keepOneUntil()) || reportedReplicas(function, now) == 0) {
            return d;
        }
        return new Decision(1, d.panicking(), d.stableConcurrency(), d.panicConcurrency(), d.currentConcurrency(),
                d.reason() + "; keeps 1 after a deploy or an autoscaler restart");
    }

    /**
     * Whether some invoker's sample of the function is fresh. Samples are keyed by function, so
     * with several autoscalers (one beside each gateway, one consumer group) each function's
     * samples reach exactly one of them: the others must not decide for it, or their decision
     * "nothing reported, so zero" stops the replicas the first one wants. A function nobody runs
     * needs no decision either: its first call starts it.
     */
    boolean reported(String function, Instant now) {
        return fresh(function, now).findAny().isPresent();
    }

    /** Replicas per invoker whose latest sample of the function is fresh: the decision is spread over them. */
    Map<String, Integer> replicasByInvoker(String function, Instant now) {
        Map<String, Integer> byInvoker = new java.util.HashMap<>();
        fresh(function, now).forEach(sample -> byInvoker.put(sample.invoker(), sample.replicas()));
        return byInvoker;
    }

    int reportedReplicas(String function, Instant now) {
        return fresh(function, now).mapToInt(LoadSample::replicas).sum();
    }

    private java.util.stream.Stream<LoadSample> fresh(String function, Instant now) {
        Map<String, LoadSample> byInvoker = lastSamples.get(function);
        if (byInvoker == null) return java.util.stream.Stream.empty();
        Known known = functions.get(function);
        Instant oldest = now.minus(known == null ? ScalingConfig.DEFAULT_SAMPLE_MAX_AGE : known.sampleMaxAge());
        return byInvoker.values().stream().filter(sample -> sample.at().isAfter(oldest));
    }
}
