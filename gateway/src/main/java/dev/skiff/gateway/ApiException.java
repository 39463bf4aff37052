package dev.skiff.gateway;

/** A request the API refuses; becomes {@code {"error": …, "message": …}} with this status. */
public class ApiException extends RuntimeException {
    private final int status;
    private final String error;
    private final java.util.Map<String, String> headers;

    public ApiException(int status, String error, String message) {
        this(status, error, message, java.util.Map.of());
    }

    /** With response headers, such as the WWW-Authenticate challenge of a 401. */
    public ApiException(int status, String error, String message, java.util.Map<String, String> headers) {
        super(message);
        this.status = status;
        this.error = error;
        this.headers = java.util.Map.copyOf(headers);
    }

    public java.util.Map<String, String> headers() {
        return headers;
    }

    public int status() {
        return status;
    }

    public String error() {
        return error;
    }
}
