package dev.skiff.autoscaler;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A manual clock walking one function through a load pattern a second at a time: in second s
 * every reporting invoker sends a sample at s + 0.5 and the scaler decides at s + 0.6. The
 * replicas follow each decision at once (an ideal platform), unless {@link #replicasFollow} is off.
 */
final class Scenario {
    static final String FUNCTION = "f";

    final FunctionScaler scaler;
    /** Clients per reporting invoker; an invoker absent from the map sends nothing. */
    private final Map<String, Integer> load = new TreeMap<>();
    private final List<Decision> decisions = new ArrayList<>();
    private long second;
    int replicas;
    boolean replicasFollow = true;

    Scenario(ScalingConfig config, int replicas) {
        this.scaler = new FunctionScaler(FUNCTION, config);
        this.replicas = replicas;
    }

    /** {@code clients} concurrent calls on {@code invoker} from the next second on. */
    Scenario load(String invoker, int clients) {
        load.put(invoker, clients);
        return this;
    }

    /** {@code invoker} sends no more samples. */
    Scenario silence(String invoker) {
        load.remove(invoker);
        return this;
    }

    /** Runs {@code seconds} seconds; returns their decisions. */
    List<Decision> run(int seconds) {
        List<Decision> made = new ArrayList<>();
        for (int i = 0; i < seconds; i++, second++) {
            for (Map.Entry<String, Integer> e : load.entrySet()) {
                int clients = e.getValue();
                scaler.observe(new LoadSample(e.getKey(), FUNCTION, at(second + 0.5), Math.min(clients, replicas),
                        Math.max(0, clients - replicas), replicas, clients));
            }
            Decision d = scaler.decide(at(second + 0.6), replicas);
            if (replicasFollow) replicas = d.desiredReplicas();
            made.add(d);
        }
        decisions.addAll(made);
        return made;
    }

    /** Runs one second; returns its decision. */
    Decision step() {
        return run(1).get(0);
    }

    /** The instant of the next decision. */
    Instant nextDecisionAt() {
        return at(second + 0.6);
    }

    List<Decision> decisions() {
        return decisions;
    }

    static Instant at(double seconds) {
        return Instant.ofEpochMilli(1_700_000_000_000L + Math.round(seconds * 1000));
    }
}
