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
        // status, attempt, verdict (max 5 attempts)
        Object[][] cases = {
            {200, 1, RetryPolicy.Verdict.SUCCEEDED}, {204, 5, RetryPolicy.Verdict.SUCCEEDED}, {302, 1, RetryPolicy.Verdict.SUCCEEDED},
            {400, 1, RetryPolicy.Verdict.FAILED}, {404, 1, RetryPolicy.Verdict.FAILED}, {413, 1, RetryPolicy.Verdict.FAILED},
            {429, 1, RetryPolicy.Verdict.RETRY}, {500, 1, RetryPolicy.Verdict.RETRY}, {502, 2, RetryPolicy.Verdict.RETRY},
            {503, 3, RetryPolicy.Verdict.RETRY}, {504, 4, RetryPolicy.Verdict.RETRY},
            {504, 5, RetryPolicy.Verdict.DEAD}, {429, 5, RetryPolicy.Verdict.DEAD},
        };
        for (Object[] c : cases) {
            assertEquals(c[2], POLICY.verdict((int) c[0], (int) c[1]), "status " + c[0] + " on attempt " + c[1]);
        }
        assertEquals(RetryPolicy.Verdict.DEAD, new RetryPolicy(1, Duration.ofSeconds(1), Duration.ofSeconds(1)).verdict(500, 1));
        assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(0, Duration.ofSeconds(1), Duration.ofSeconds(1)));
    }

    @Test
    void theCallerMayChooseWhatIsRetried() {
        // A trigger with retry.on: [4xx]: client errors are retried, server errors are final.
        java.util.function.IntPredicate clientErrors = s -> s >= 400 && s < 500;
        assertEquals(RetryPolicy.Verdict.RETRY, POLICY.verdict(404, 1, clientErrors));
        assertEquals(RetryPolicy.Verdict.DEAD, POLICY.verdict(404, 5, clientErrors));
        assertEquals(RetryPolicy.Verdict.FAILED, POLICY.verdict(500, 1, clientErrors));
        assertEquals(RetryPolicy.Verdict.SUCCEEDED, POLICY.verdict(200, 1, clientErrors));
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
