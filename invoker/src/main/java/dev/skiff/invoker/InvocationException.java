package dev.skiff.invoker;

/**
 * A call that got no answer from the function. {@code status} is what the caller should see:
 * 502 crashed, 503 could not start, 504 timed out, 429 no capacity.
 */
public class InvocationException extends Exception {
    private final int status;
    private final String error;
    private final long retryAfterSeconds;

    public InvocationException(int status, String error, String message) {
        this(status, error, message, status == 429 ? 1 : 0);
    }

    public InvocationException(int status, String error, String message, long retryAfterSeconds) {
        super(message);
        this.status = status;
        this.error = error;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** When the caller may try again (a Retry-After header), 0 when not said. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public int status() {
        return status;
    }

    /** A short machine-readable code such as "function_crashed". */
    public String error() {
        return error;
    }
}
