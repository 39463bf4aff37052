package dev.skiff.invoker;

import java.time.Duration;
import java.util.Map;

/**
 * A function's settings from its func.yaml, validated, with defaults filled in.
 * See {@link FunctionConfigParser} for the keys and their defaults.
 */
public record FunctionConfig(
        String name,
        String runtime,
        String handler,
        long memoryBytes,
        int pids,
        int concurrency,
        int maxScale,
        Duration timeout,
        Duration idleTimeout,
        Map<String, String> env) {

    public FunctionConfig {
        env = Map.copyOf(env);
    }
}
