package dev.skiff.invoker;

/**
 * A call that got no answer from the function. {@code status} is what the caller should see:
 * 502 crashed, 503 could not start, 504 timed out, 429 no capacity.
 */
public class InvocationException extends Exception {
    private final int status;
    private final String error;

    public InvocationException(int status, String error, String message) {
        super(message);
        this.status = status;
        this.error = error;
    }

    public int status() {
        return status;
    }

    /** A short machine-readable code such as "function_crashed". */
    public String error() {
        return error;
    }
}
