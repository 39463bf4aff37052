package dev.skiff.autoscaler;

import java.time.Instant;

/**
 * What one invoker reports about one function, at least once a second (the autoscaler's own copy
 * of the invoker's concurrency sample; this module does not depend on the invoker).
 *
 * @param invoker  which invoker sent it
 * @param function the function it is about
 * @param at       when the invoker took it (the invoker's clock)
 * @param inFlight calls running now
 * @param queued   calls waiting for a slot now
 * @param replicas warm and starting replicas of the function on that invoker
 * @param calls    calls taken since the invoker's previous sample
 */
public record LoadSample(String invoker, String function, Instant at, int inFlight, int queued, int replicas, long calls) {

    /** Why this sample cannot be used, or null when it can. Never throws. */
    public static String problem(LoadSample sample) {
        if (sample == null) return "no sample";
        if (sample.invoker == null || sample.invoker.isBlank()) return "sample without an invoker";
        if (sample.function == null || sample.function.isBlank()) return "sample from " + sample.invoker + " without a function";
        if (sample.at == null) return "sample from " + sample.invoker + " for " + sample.function + " without a time";
        if (sample.inFlight < 0 || sample.queued < 0 || sample.replicas < 0 || sample.calls < 0) {
            return "sample from " + sample.invoker + " for " + sample.function + " has a negative count: " + sample;
        }
        return null;
    }

    /** Calls running or waiting: the concurrency this sample adds. */
    long demand() {
        return (long) inFlight + queued;
    }

    /** Whether the function had anything to do: calls running, waiting, or taken since the previous sample. */
    boolean showsTraffic() {
        return inFlight > 0 || queued > 0 || calls > 0;
    }
}
