package dev.skiff.invoker;

import java.time.Instant;

/**
 * One function's load on one invoker at one moment: what the autoscaler decides from.
 *
 * @param inFlight calls running now
 * @param queued   calls waiting for a slot
 * @param replicas warm replicas plus those starting
 * @param calls    calls taken since the previous sample
 */
public record ConcurrencySample(String invoker, String function, Instant at, int inFlight, int queued, int replicas, long calls) {}
