package dev.skiff.server.async;

import dev.skiff.invoker.http.HttpMessage.Header;
import java.time.Instant;
import java.util.List;

/**
 * One accepted async call as it sits on fn.async: the request as the function will see it, plus
 * what the worker needs to run it again. A retry is the same call produced again with
 * {@code attempt + 1} and a {@code notBefore} time, so the retry is as durable as the call.
 *
 * @param attempt    1 for the first run
 * @param notBefore  not to be run before this time (null: at once)
 * @param lastStatus the status the previous attempt ended with (0 for none)
 * @param lastError  what the previous attempt ended with, for the result and the dead letter (null for none)
 */
public record AsyncCall(String callId, String function, String method, String path, String query, List<Header> headers,
        byte[] body, Instant acceptedAt, String callbackUrl, int attempt, Instant notBefore, int lastStatus, String lastError) {
    public AsyncCall {
        headers = List.copyOf(headers);
        if (body == null) body = new byte[0];
        if (query == null) query = "";
        if (path == null || path.isEmpty()) path = "/";
    }

    /** The next attempt of this call, after the one that ended with {@code status} / {@code error}. */
    public AsyncCall retry(Instant notBefore, int status, String error) {
        return new AsyncCall(callId, function, method, path, query, headers, body, acceptedAt, callbackUrl, attempt + 1, notBefore,
                status, error);
    }
}
