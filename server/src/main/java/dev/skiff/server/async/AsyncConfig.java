package dev.skiff.server.async;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/**
 * Settings of async calls ({@code skiff.async.*}). Every key Skiff reads is mapped here: an
 * unknown {@code skiff.*} key stops the application at start, so a typo is never silently ignored.
 */
@ConfigMapping(prefix = "skiff.async")
public interface AsyncConfig {
    /** Whether this process runs the async worker (the gateway routes are always on). */
    @WithDefault("true")
    boolean workerEnabled();

    /** Attempts of one call in total (the first included) before it goes to the dead-letter topic. */
    @WithDefault("5")
    int maxAttempts();

    /** Backoff before the second attempt; it doubles each attempt, up to {@link #backoffMax()}, then full jitter. */
    @WithDefault("1s")
    Duration backoffBase();

    @WithDefault("60s")
    Duration backoffMax();

    /** Calls one worker runs at once (calls waiting for their retry time do not count). */
    @WithDefault("64")
    int concurrency();

    /** Records one worker holds uncommitted at most (running, waiting for a retry time, or being recorded); beyond it the consumer pauses. */
    @WithDefault("1000")
    int maxInFlight();

    /** Partitions of fn.async when Skiff creates it: the most gateways that can share the work. */
    @WithDefault("6")
    int partitions();

    /** How long a result stays readable at /v1/calls/{id} (in memory and on fn.async.results). */
    @WithDefault("1h")
    Duration resultRetention();

    /** Results kept in memory at most per gateway; the oldest go first. */
    @WithDefault("100000")
    int maxResults();

    /** Largest function response body kept in a result; a longer one is cut (bodyTruncated: true). The callback gets it whole. */
    @WithDefault("1048576")
    int maxResultBodyBytes();

    /** How long accepting a call may wait for the broker's acknowledgement before answering 503. */
    @WithDefault("10s")
    Duration produceTimeout();

    /** Deliveries of one callback at most, with backoff between them. */
    @WithDefault("3")
    int callbackAttempts();

    /** One callback delivery may take this long. */
    @WithDefault("10s")
    Duration callbackTimeout();

    /** Backoff before the second callback delivery (doubling after). */
    @WithDefault("1s")
    Duration callbackBackoff();
}
