package dev.skiff.server.async;

import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * Counters of async calls, in Prometheus as {@code skiff_async_accepted_total{function}},
 * {@code skiff_async_calls_total{function,outcome}} (succeeded, failed, dead),
 * {@code skiff_async_retries_total{function}} and {@code skiff_async_callbacks_total{outcome}}
 * (delivered, failed). The worker's gauges are registered by {@link AsyncWorker}.
 */
@ApplicationScoped
public class AsyncMetrics {
    @Inject
    MeterRegistry registry;

    void accepted(String function) {
        registry.counter("skiff_async_accepted", "function", function).increment();
    }

    void finished(String function, String outcome) {
        registry.counter("skiff_async_calls", "function", function, "outcome", outcome).increment();
    }

    void retried(String function) {
        registry.counter("skiff_async_retries", "function", function).increment();
    }

    void callback(boolean delivered) {
        registry.counter("skiff_async_callbacks", "outcome", delivered ? "delivered" : "failed").increment();
    }
}
