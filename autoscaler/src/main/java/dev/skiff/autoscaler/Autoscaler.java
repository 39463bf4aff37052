package dev.skiff.autoscaler;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The scaling decisions of every configured function, keyed by function name. Like
 * {@link FunctionScaler} it reads no clock and does no I/O; unlike it, it is thread-safe (samples
 * may arrive on one thread while another decides) and never throws for a bad sample: it skips
 * it and says why, for the caller to log.
 */
public final class Autoscaler {
    private final Map<String, FunctionScaler> scalers = new TreeMap<>();

    /** Starts scaling {@code function}, or changes its config keeping its samples and panic state. */
    public synchronized void configure(String function, ScalingConfig config) {
        if (function == null || function.isBlank()) throw new IllegalArgumentException("a function name is required");
        FunctionScaler scaler = scalers.get(function);
        if (scaler == null) {
            scalers.put(function, new FunctionScaler(function, config));
        } else {
            scaler.reconfigure(config);
        }
    }

    /** Stops scaling {@code function} and drops what was known about it; false if it was not configured. */
    public synchronized boolean forget(String function) {
        return function != null && scalers.remove(function) != null;
    }

    /** The configured functions, sorted. */
    public synchronized Set<String> functions() {
        return Collections.unmodifiableSet(new TreeSet<>(scalers.keySet()));
    }

    /** Records a sample; returns why it was skipped (malformed, or of a function not configured), empty when recorded. */
    public synchronized Optional<String> observe(LoadSample sample) {
        String problem = LoadSample.problem(sample);
        if (problem != null) return Optional.of(problem);
        FunctionScaler scaler = scalers.get(sample.function());
        if (scaler == null) return Optional.of("sample from " + sample.invoker() + " for unknown function " + sample.function());
        scaler.observe(sample);
        return Optional.empty();
    }

    /** The decision for one function, empty if it is not configured. */
    public synchronized Optional<Decision> decide(String function, Instant now, int currentReplicas) {
        FunctionScaler scaler = function == null ? null : scalers.get(function);
        return scaler == null ? Optional.empty() : Optional.of(scaler.decide(now, currentReplicas));
    }

    /**
     * Decides for every configured function, in name order. A function missing from
     * {@code currentReplicasByFunction} is taken to have the replicas its invokers report
     * (summed over the invokers whose latest sample is at most sampleMaxAge old).
     */
    public synchronized Map<String, Decision> decideAll(Instant now, Map<String, Integer> currentReplicasByFunction) {
        Map<String, Integer> given = currentReplicasByFunction == null ? Map.of() : currentReplicasByFunction;
        Map<String, Decision> decisions = new LinkedHashMap<>();
        for (FunctionScaler scaler : scalers.values()) {
            Integer current = given.get(scaler.function());
            decisions.put(scaler.function(), scaler.decide(now, current != null ? current : scaler.reportedReplicas(now)));
        }
        return Collections.unmodifiableMap(decisions);
    }
}
