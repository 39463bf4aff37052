package dev.skiff.sandbox;

import java.io.IOException;

/** An image that cannot be used as it is: malformed, corrupt, unsupported, or with an entry that is refused. */
public class ImageException extends IOException {
    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
