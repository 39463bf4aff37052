package dev.skiff.gateway;

import dev.skiff.invoker.FunctionConfig;
import dev.skiff.invoker.ReplicaStatus;
import java.time.Instant;

/**
 * How a function is shown by list and describe.
 *
 * @param replicas        warm replicas on this node
 * @param desiredReplicas the autoscaler's latest decision applied here, null before the first one
 * @param deployedAt      when this version became current (deployed or rolled back to)
 * @param image           for a function from an OCI image, the image as func.yaml names it; else null
 */
public record FunctionView(
        String name,
        long version,
        String runtime,
        String url,
        Instant deployedAt,
        String status,
        int replicas,
        int startingReplicas,
        Integer desiredReplicas,
        Limits limits,
        String image) {

    static FunctionView of(FunctionStore.Stored stored, String url, ReplicaStatus replicas) {
        var d = stored.deployment();
        return new FunctionView(d.name(), d.version(), d.config().runtime(), url, stored.deployedAt(),
                FunctionStatus.of(replicas).label(), replicas.warm(), replicas.starting(), replicas.desired(),
                Limits.of(d.config()), d.config().fromImage() ? d.config().image().toString() : null);
    }

    public record Limits(long memoryBytes, int pids, int cpuMillis, int concurrency, int minScale, int maxScale,
            int maxQueue, long timeoutMs, long idleTimeoutMs) {
        static Limits of(FunctionConfig c) {
            return new Limits(c.memoryBytes(), c.pids(), c.cpuMillis(), c.concurrency(), c.minScale(), c.maxScale(),
                    c.maxQueue(), c.timeout().toMillis(), c.idleTimeout().toMillis());
        }
    }
}
