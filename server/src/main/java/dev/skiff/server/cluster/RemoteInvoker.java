package dev.skiff.server.cluster;

import dev.skiff.gateway.InvocationRoutes;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.StreamedResponse;
import dev.skiff.invoker.http.HttpMessage;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Calls on an invoker in another process, over its internal HTTP endpoint
 * ({@code /internal/fn/NAME/PATH}, see the gateway's InvocationRoutes), which runs the call on
 * that invoker's sandboxes exactly as a local call would. The version travels in a header, so a
 * call always runs the version the gateway chose even while the invoker's copy of the function
 * catalog catches up.
 */
public final class RemoteInvoker {
    private static final String VERSION_HEADER = InvocationRoutes.VERSION_HEADER;
    private static final String INVOKER_ERROR_HEADER = InvocationRoutes.INVOKER_ERROR_HEADER;
    private static final String NOT_HERE = InvocationRoutes.NOT_HERE;
    /** Headers the JDK client sets itself and refuses from callers. */
    private static final Set<String> CLIENT_OWNED = Set.of("connection", "content-length", "expect", "host", "upgrade");

    /** The call never reached the invoker (nothing was sent): safe to try another one. */
    public static final class NotReached extends Exception {
        NotReached(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1))
            // The client's default executor: a direct one (to save a thread hop) runs response
            // handling on the client's selector thread, and under load calls stalled behind it.
            .build();

    /** Runs a call on the invoker at {@code baseUrl}; returns once the response head is in. */
    public StreamedResponse invokeStreaming(String baseUrl, FunctionDeployment d, InvocationRequest call, Duration timeout)
            throws NotReached, InvocationException {
        String target = baseUrl + "/internal/fn/" + d.name() + call.path() + (call.query().isEmpty() ? "" : "?" + call.query());
        HttpRequest.BodyPublisher body = call.bodyStream() == null
                ? HttpRequest.BodyPublishers.ofByteArray(call.body())
                : call.bodyLength() >= 0
                        ? HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(call::bodyStream), call.bodyLength())
                        : HttpRequest.BodyPublishers.ofInputStream(call::bodyStream);
        // The path and query are the caller's raw (still percent-encoded) ones, passed on as they came.
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(target)).timeout(timeout).method(call.method(), body);
        for (HttpMessage.Header h : call.headers()) {
            String n = h.name().toLowerCase(Locale.ROOT);
            if (CLIENT_OWNED.contains(n) || HttpMessage.isHopByHop(n) || n.equals("x-skiff-version")) continue;
            req.header(h.name(), h.value());
        }
        req.setHeader(VERSION_HEADER, Long.toString(d.version()));
        req.setHeader("X-Call-Id", call.callId());
        HttpResponse<InputStream> resp;
        try {
            resp = client.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (ConnectException | HttpConnectTimeoutException e) {
            throw new NotReached("cannot connect to the invoker at " + baseUrl + ": " + e, e);
        } catch (java.net.http.HttpTimeoutException e) {
            throw new InvocationException(504, "function_timeout", "the invoker at " + baseUrl + " did not answer within " + timeout.toMillis() + " ms");
        } catch (IOException e) {
            throw new InvocationException(502, "invoker_lost", "the invoker at " + baseUrl + " went away during the call: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InvocationException(503, "interrupted", "interrupted");
        }
        String invokerError = resp.headers().firstValue(INVOKER_ERROR_HEADER).orElse(null);
        if (NOT_HERE.equals(invokerError)) {
            close(resp.body());
            throw new NotReached("the invoker at " + baseUrl + " does not have version " + d.version() + " of " + d.name() + " yet", null);
        }
        List<HttpMessage.Header> headers = new ArrayList<>();
        resp.headers().map().forEach((k, vs) -> {
            if (k.equalsIgnoreCase(INVOKER_ERROR_HEADER) || k.startsWith(":")) return;
            for (String v : vs) headers.add(new HttpMessage.Header(k, v));
        });
        long length = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
        return new StreamedResponse(resp.statusCode(), headers, length, resp.body());
    }

    /** Makes the invoker start (or find) a ready replica of this version; an InvocationException says why it cannot. */
    public void warmUp(String baseUrl, FunctionDeployment d, Duration timeout) throws NotReached, InvocationException {
        HttpRequest req = HttpRequest.newBuilder(URI.create(baseUrl + "/internal/warmup/" + d.name()))
                .timeout(timeout).header(VERSION_HEADER, Long.toString(d.version()))
                .POST(HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<String> resp;
        try {
            resp = client.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException | HttpConnectTimeoutException e) {
            throw new NotReached("cannot connect to the invoker at " + baseUrl + ": " + e, e);
        } catch (IOException e) {
            throw new InvocationException(502, "invoker_lost", "the invoker at " + baseUrl + " failed during warm-up: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InvocationException(503, "interrupted", "interrupted");
        }
        if (resp.statusCode() / 100 == 2) return;
        if (NOT_HERE.equals(resp.headers().firstValue(INVOKER_ERROR_HEADER).orElse(null))) {
            throw new NotReached("the invoker at " + baseUrl + " did not get version " + d.version() + " of " + d.name(), null);
        }
        throw new InvocationException(resp.statusCode(), "start_failed", messageOf(resp.body()));
    }

    private static String messageOf(String json) {
        try {
            var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
            if (node != null && node.hasNonNull("message")) return node.get("message").asText();
        } catch (IOException ignored) {
            // not the JSON error body: show it as it is
        }
        return json;
    }

    private static void close(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // nothing to give back
        }
    }
}
