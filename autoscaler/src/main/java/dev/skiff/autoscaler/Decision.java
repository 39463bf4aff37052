package dev.skiff.autoscaler;

/**
 * One scaling decision for one function.
 *
 * @param desiredReplicas    replicas the function should have now
 * @param panicking          whether the function is in panic mode (it then never scales down)
 * @param stableConcurrency  mean concurrency over the stable window
 * @param panicConcurrency   recency-weighted concurrency over the panic window
 * @param currentConcurrency concurrency (running + waiting calls) in the current second
 * @param reason             a short explanation, for logs and metrics
 */
public record Decision(int desiredReplicas, boolean panicking, double stableConcurrency, double panicConcurrency,
        long currentConcurrency, String reason) {}
