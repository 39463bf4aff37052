package dev.skiff.gateway;

import dev.skiff.invoker.FunctionConfig;
import java.time.Instant;

/** How a function is shown by list and describe. */
public record FunctionView(
        String name,
        long version,
        String runtime,
        String url,
        Instant deployedAt,
        int replicas,
        Limits limits) {

    public record Limits(long memoryBytes, int pids, int cpuMillis, int concurrency, int maxScale, long timeoutMs, long idleTimeoutMs) {
        static Limits of(FunctionConfig c) {
            return new Limits(c.memoryBytes(), c.pids(), c.cpuMillis(), c.concurrency(), c.maxScale(), c.timeout().toMillis(), c.idleTimeout().toMillis());
        }
    }
}
