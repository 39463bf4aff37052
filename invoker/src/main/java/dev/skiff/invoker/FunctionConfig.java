package dev.skiff.invoker;

import dev.skiff.autoscaler.ScalingConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A function's settings from its func.yaml, validated, with defaults filled in.
 * See {@link FunctionConfigParser} for the keys and their defaults. {@code tokenRequired} is
 * {@code auth: token}: calls need an API token (invoke or admin scope), checked by the gateway.
 * {@code triggers}: Kafka topics whose records become calls (see {@link TriggerConfigParser}).
 */
public record FunctionConfig(
        String name,
        String runtime,
        String handler,
        long memoryBytes,
        int pids,
        int cpuMillis,
        int concurrency,
        int maxScale,
        Duration timeout,
        Duration idleTimeout,
        Map<String, String> env,
        boolean outboundNetwork,
        int maxQueue,
        int minScale,
        ScalingConfig scaling,
        boolean tokenRequired,
        ImageReference image,
        List<String> command,
        List<TriggerConfig> triggers) {

    /** The runtime name of a function that runs an OCI image instead of a language runtime. */
    public static final String IMAGE_RUNTIME = "image";

    public FunctionConfig {
        env = Map.copyOf(env);
        command = List.copyOf(command);
        triggers = triggers == null ? List.of() : List.copyOf(triggers);
    }

    /** A function without triggers (the shape before func.yaml had them). */
    public FunctionConfig(String name, String runtime, String handler, long memoryBytes, int pids, int cpuMillis, int concurrency,
            int maxScale, Duration timeout, Duration idleTimeout, Map<String, String> env, boolean outboundNetwork, int maxQueue,
            int minScale, ScalingConfig scaling, boolean tokenRequired, ImageReference image, List<String> command) {
        this(name, runtime, handler, memoryBytes, pids, cpuMillis, concurrency, maxScale, timeout, idleTimeout, env, outboundNetwork,
                maxQueue, minScale, scaling, tokenRequired, image, command, List.of());
    }

    /** A function of a language runtime (no image, no command). */
    public FunctionConfig(String name, String runtime, String handler, long memoryBytes, int pids, int cpuMillis, int concurrency,
            int maxScale, Duration timeout, Duration idleTimeout, Map<String, String> env, boolean outboundNetwork, int maxQueue,
            int minScale, ScalingConfig scaling, boolean tokenRequired) {
        this(name, runtime, handler, memoryBytes, pids, cpuMillis, concurrency, maxScale, timeout, idleTimeout, env, outboundNetwork,
                maxQueue, minScale, scaling, tokenRequired, null, List.of(), List.of());
    }

    /** Whether this function runs an OCI image (its rootfs and command) rather than a language runtime's FDK. */
    public boolean fromImage() {
        return image != null;
    }

    /**
     * CPU weight under contention, on the cgroup v2 scale where 100 is normal: a function that
     * asks for 2 CPUs weighs 200, one that asks for half a CPU 50; no cpu setting means 100.
     */
    public int cpuWeight() {
        return cpuMillis == 0 ? 100 : Math.max(1, Math.min(10_000, cpuMillis / 10));
    }
}
