package dev.skiff.invoker;

/** A function package or func.yaml the platform refuses; the message says what to fix. */
public class InvalidFunctionException extends Exception {
    private final String error;

    public InvalidFunctionException(String error, String message) {
        super(message);
        this.error = error;
    }

    /** Short machine-readable code, e.g. "invalid_name". */
    public String error() {
        return error;
    }
}
