package dev.skiff.invoker;

import dev.skiff.invoker.http.HttpMessage.Header;
import java.io.InputStream;
import java.util.List;

/**
 * A function's answer whose body is still coming: read {@code body} to the end (or close it) to
 * finish the call; that gives the replica's slot and connection back.
 *
 * @param contentLength the body's length when the function said it, else -1
 */
public record StreamedResponse(int status, List<Header> headers, long contentLength, InputStream body) {
    public StreamedResponse {
        headers = List.copyOf(headers);
    }
}
