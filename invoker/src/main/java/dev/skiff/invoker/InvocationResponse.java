package dev.skiff.invoker;

import dev.skiff.invoker.http.HttpMessage.Header;
import java.util.List;

/** What the function answered. */
public record InvocationResponse(int status, List<Header> headers, byte[] body) {
    public InvocationResponse {
        headers = List.copyOf(headers);
    }
}
