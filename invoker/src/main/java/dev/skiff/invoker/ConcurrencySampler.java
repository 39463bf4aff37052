package dev.skiff.invoker;

import java.time.Instant;
import java.util.List;

/** Produces per-function concurrency samples (at least once a second); the Kafka wiring publishes them. */
public interface ConcurrencySampler {
    List<ConcurrencySample> sample(Instant now);
}
