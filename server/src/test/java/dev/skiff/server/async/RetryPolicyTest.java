package dev.skiff.server.async;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Which attempts are retried, and how long the full-jitter backoff waits, with a made-up random source. */
class RetryPolicyTest {
    static final RetryPolicy POLICY = new RetryPolicy(5, Duration.ofSeconds(1), Duration.ofSeconds(60));

    @Test
    void successAndClientErrorsAreFinalServerErrorsAndTooManyRequestsAreRetried() {
        assertEquals(RetryPolicy.Verdict.SUCCEEDED, POLICY.verdict(200, 1));
        assertEquals(RetryPolicy.Verdict.SUCCEEDED, POLICY.verdict(204, 5));
        assertEquals(RetryPolicy.Verdict.SUCCEEDED, POLICY.verdict(302, 1));
        assertEquals(RetryPolicy.Verdict.FAILED, POLICY.verdict(400, 1));
        assertEquals(RetryPolicy.Verdict.FAILED, POLICY.verdict(404, 1));
        assertEquals(RetryPolicy.Verdict.FAILED, POLICY.verdict(413, 1));
        assertEquals(RetryPolicy.Verdict.RETRY, POLICY.verdict(429, 1));
        assertEquals(RetryPolicy.Verdict.RETRY, POLICY.verdict(500, 1));
        assertEquals(RetryPolicy.Verdict.RETRY, POLICY.verdict(502, 2));
        assertEquals(RetryPolicy.Verdict.RETRY, POLICY.verdict(503, 3));
        assertEquals(RetryPolicy.Verdict.RETRY, POLICY.verdict(504, 4));
        assertEquals(RetryPolicy.Verdict.DEAD, POLICY.verdict(504, 5));
        assertEquals(RetryPolicy.Verdict.DEAD, POLICY.verdict(429, 5));
        assertEquals(RetryPolicy.Verdict.DEAD, new RetryPolicy(1, Duration.ofSeconds(1), Duration.ofSeconds(1)).verdict(500, 1));
        assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(0, Duration.ofSeconds(1), Duration.ofSeconds(1)));
    }

    @Test
    void theCeilingDoublesEachAttemptUpToTheCap() {
        // random 0.999… gives the ceiling itself: 1 s, 2 s, 4 s, … 32 s, then the 60 s cap.
        assertEquals(1000, POLICY.backoff(1, () -> 0.9999999).toMillis());
        assertEquals(2000, POLICY.backoff(2, () -> 0.9999999).toMillis());
        assertEquals(4000, POLICY.backoff(3, () -> 0.9999999).toMillis());
        assertEquals(32000, POLICY.backoff(6, () -> 0.9999999).toMillis());
        assertEquals(60000, POLICY.backoff(7, () -> 0.9999999).toMillis());
        assertEquals(60000, POLICY.backoff(100, () -> 0.9999999).toMillis());
    }

    @Test
    void fullJitterSpreadsTheWaitFromZeroToTheCeiling() {
        assertEquals(0, POLICY.backoff(3, () -> 0.0).toMillis());
        assertEquals(2000, POLICY.backoff(3, () -> 0.5).toMillis());
        assertEquals(1000, POLICY.backoff(3, () -> 0.25).toMillis());
    }
}
