package dev.skiff.invoker;

import dev.skiff.invoker.http.HttpMessage.Header;
import java.util.List;

/**
 * One call of a function, as the function will see it.
 *
 * @param path  the path after /fn/{name}, starting with "/" (or "/" when none)
 * @param query the raw query string without "?", or ""
 */
public record InvocationRequest(String callId, String method, String path, String query, List<Header> headers, byte[] body) {
    public InvocationRequest {
        headers = List.copyOf(headers);
        if (path == null || path.isEmpty()) path = "/";
        if (query == null) query = "";
        if (body == null) body = new byte[0];
    }
}
