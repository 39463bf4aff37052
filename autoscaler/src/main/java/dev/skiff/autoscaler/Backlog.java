package dev.skiff.autoscaler;

import java.time.Instant;
import java.util.Collection;

/**
 * Records waiting on one Kafka trigger of a function (its consumer group's lag), as its consumer
 * reports it, and what that asks of the autoscaler: as KEDA's Kafka scaler does, a full topic
 * scales the function up, one replica per {@code lagThreshold} records waiting. Unlike KEDA's
 * consumers, Skiff's calls come from a trigger with at most {@code maxInFlight} records in flight
 * (its concurrency, or its partitions when one record at a time per partition), so replicas
 * beyond what those calls can fill would only idle: the floor stops there, and at maxScale.
 *
 * @param source       who reports it: a node and trigger (each trigger consumer reports its own partitions)
 * @param lag          records on its partitions not yet done
 * @param lagThreshold records waiting per replica wanted
 * @param maxInFlight  records the trigger runs at once at most
 */
public record Backlog(String source, String function, Instant at, long lag, int lagThreshold, int maxInFlight) {
    public Backlog {
        if (lag < 0 || lagThreshold < 1 || maxInFlight < 1) {
            throw new IllegalArgumentException("a backlog needs lag >= 0, lagThreshold >= 1 and maxInFlight >= 1");
        }
    }

    /** Replicas these backlogs (fresh ones, of one function) ask for at least: 0 when nothing waits. */
    public static int replicasFor(Collection<Backlog> backlogs, int concurrency, int maxScale) {
        long wanted = 0;
        for (Backlog b : backlogs) {
            if (b.lag() == 0) continue;
            long byLag = (b.lag() + b.lagThreshold() - 1) / b.lagThreshold();
            long fillable = (b.maxInFlight() + concurrency - 1) / Math.max(1, concurrency);
            wanted += Math.min(byLag, fillable);
        }
        return (int) Math.min(maxScale, wanted);
    }

    /** {@code d}, raised to {@code floor} replicas when the backlog asks for more, saying so in the reason. */
    public static Decision atLeast(Decision d, int floor, long lag) {
        if (floor <= d.desiredReplicas()) return d;
        return new Decision(floor, d.panicking(), d.stableConcurrency(), d.panicConcurrency(), d.currentConcurrency(),
                d.reason() + "; " + lag + " records waiting on triggers want " + floor);
    }
}
