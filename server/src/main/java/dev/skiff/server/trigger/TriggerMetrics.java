package dev.skiff.server.trigger;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.function.ToDoubleFunction;

/**
 * {@code skiff_trigger_records_total{function,trigger,outcome}} (succeeded, dead_lettered,
 * retried: attempts that will be tried again) and {@code skiff_trigger_lag{function,trigger}}
 * (records in the trigger's partitions not yet read: the backlog an autoscaler may act on).
 */
@ApplicationScoped
public class TriggerMetrics {
    @Inject
    MeterRegistry registry;

    void retried(String function, String trigger) {
        count(function, trigger, "retried");
    }

    void outcome(String function, String trigger, TriggerCall.Kind kind) {
        if (kind == TriggerCall.Kind.SUCCEEDED) count(function, trigger, "succeeded");
        else if (kind == TriggerCall.Kind.DEAD_LETTERED) count(function, trigger, "dead_lettered");
    }

    private void count(String function, String trigger, String outcome) {
        registry.counter("skiff_trigger_records_total", "function", function, "trigger", trigger, "outcome", outcome).increment();
    }

    <T> Gauge lagGauge(String function, String trigger, T loop, ToDoubleFunction<T> lag) {
        return Gauge.builder("skiff_trigger_lag", loop, lag).description("Records of a trigger's topics not yet read by its consumer")
                .tag("function", function).tag("trigger", trigger).strongReference(true).register(registry);
    }

    void remove(Gauge gauge) {
        registry.remove(gauge);
    }
}
