package dev.skiff.invoker;

import dev.skiff.invoker.http.HttpMessage.Header;
import java.io.InputStream;
import java.util.List;

/**
 * One call of a function, as the function will see it. The body is either in memory
 * ({@code body}) or streamed ({@code bodyStream}, {@code bodyLength} bytes, or -1 when the
 * length is not known in advance and it goes to the function chunked).
 *
 * @param path  the path after /fn/{name}, starting with "/" (or "/" when none)
 * @param query the raw query string without "?", or ""
 */
public record InvocationRequest(String callId, String method, String path, String query, List<Header> headers, byte[] body,
        InputStream bodyStream, long bodyLength) {
    public InvocationRequest {
        headers = List.copyOf(headers);
        if (path == null || path.isEmpty()) path = "/";
        if (query == null) query = "";
        if (body == null) body = new byte[0];
        if (bodyStream == null) bodyLength = body.length;
    }

    /** A call whose body is already in memory. */
    public InvocationRequest(String callId, String method, String path, String query, List<Header> headers, byte[] body) {
        this(callId, method, path, query, headers, body, null, body == null ? 0 : body.length);
    }

    /** A call whose body is read from {@code body} as it is sent ({@code length} -1 when unknown). */
    public static InvocationRequest streaming(String callId, String method, String path, String query, List<Header> headers,
            InputStream body, long length) {
        return new InvocationRequest(callId, method, path, query, headers, new byte[0], body, length);
    }
}
