package dev.skiff.sandbox;

/** A sandbox could not be created; the message says which step failed and why. */
public class SandboxException extends Exception {
    public SandboxException(String message) {
        super(message);
    }

    public SandboxException(String message, Throwable cause) {
        super(message, cause);
    }
}
