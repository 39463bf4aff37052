package dev.skiff.server.async;

import java.time.Duration;
import java.util.function.DoubleSupplier;
import java.util.function.IntPredicate;

/**
 * What happens after an attempt, as a pure function of its status and the attempt number (no
 * I/O, no clock: the random source is passed in), so it is tested without a broker.
 *
 * <p>Retried: 5xx (the function failed, crashed, timed out, or could not start) and 429 (no
 * capacity now). Final: everything below 400 (succeeded) and the other 4xx (failed: the same
 * request would be refused again). The wait before attempt n+1 is "full jitter" (AWS
 * Architecture Blog, "Exponential Backoff And Jitter"): uniformly random in
 * [0, min(max, base * 2^(n-1))], so calls that failed together do not come back together.
 */
public record RetryPolicy(int maxAttempts, Duration base, Duration max) {
    public enum Verdict { SUCCEEDED, FAILED, RETRY, DEAD }

    public RetryPolicy {
        if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts must be at least 1");
    }

    public static boolean retryable(int status) {
        return status >= 500 || status == 429;
    }

    public Verdict verdict(int status, int attempt) {
        return verdict(status, attempt, RetryPolicy::retryable);
    }

    /** The same with the caller's choice of retried statuses (a Kafka trigger's {@code retry.on}). */
    public Verdict verdict(int status, int attempt, IntPredicate retryable) {
        if (!retryable.test(status)) return status < 400 ? Verdict.SUCCEEDED : Verdict.FAILED;
        return attempt < maxAttempts ? Verdict.RETRY : Verdict.DEAD;
    }

    /** The wait before the attempt after {@code attempt} (1-based); {@code random} yields [0, 1). */
    public Duration backoff(int attempt, DoubleSupplier random) {
        long ceiling = base.toMillis();
        for (int i = 1; i < attempt && ceiling < max.toMillis(); i++) ceiling *= 2;
        ceiling = Math.min(ceiling, max.toMillis());
        return Duration.ofMillis((long) (random.getAsDouble() * (ceiling + 1)));
    }
}
