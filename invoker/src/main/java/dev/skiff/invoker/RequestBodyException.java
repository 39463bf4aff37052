package dev.skiff.invoker;

import java.io.IOException;

/**
 * Reading the caller's request body failed (it went away, or sent more than allowed): the
 * caller's fault, not the function's, so the replica is not blamed.
 */
public class RequestBodyException extends IOException {
    private final int status;

    public RequestBodyException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** 413 when the body was too large, 400 when it broke off. */
    public int status() {
        return status;
    }
}
