package dev.skiff.server.async;

import static dev.skiff.gateway.InvocationRoutes.error;

import dev.skiff.gateway.FunctionStore;
import dev.skiff.gateway.InvocationRoutes;
import dev.skiff.invoker.SkiffConfig;
import dev.skiff.invoker.http.HttpMessage.Header;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.Logger;

/**
 * Async invocation: any method on /async/fn/{name} and /async/fn/{name}/{path…} (the method is
 * recorded and the function sees it, as on /fn/). The request is written to fn.async and only
 * once the broker acknowledged it the caller gets 202 with the call id: a 202 is a promise that
 * the call will run (at least once). When the broker does not acknowledge within
 * skiff.async.produce-timeout the answer is 503 with Retry-After, and nothing was promised (the
 * call may still have been written in the rare case that only the acknowledgement was lost: then
 * it runs although the caller was told to retry; at-least-once, never lost).
 */
@ApplicationScoped
public class AsyncRoutes {
    private static final Logger LOG = Logger.getLogger(AsyncRoutes.class);
    static final String PREFIX = "/async/fn/";
    static final String CALLBACK_HEADER = "X-Callback-Url";

    @Inject
    FunctionStore store;

    @Inject
    SkiffConfig config;

    @Inject
    AsyncProducer producer;

    @Inject
    ResultWriter results;

    @Inject
    AsyncMetrics metrics;

    /** Writing to Kafka may block (metadata, a full buffer): never on the event loop. */
    private final ExecutorService producing = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("async-accept-", 0).factory());

    @Inject
    dev.skiff.gateway.auth.Authorizer authorizer;

    void register(@Observes Router router) {
        if (config.role().gateway()) router.route(PREFIX + "*").handler(this::accept);
    }

    private void accept(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        HttpServerResponse resp = ctx.response();
        String callId = UUID.randomUUID().toString();
        String rest = req.path().substring(PREFIX.length());
        int slash = rest.indexOf('/');
        String name = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "/" : rest.substring(slash);
        boolean http1 = req.version() != io.vertx.core.http.HttpVersion.HTTP_2;
        var fn = store.get(name);
        if (fn.isEmpty()) {
            error(resp, callId, 404, "function_not_found", "no function named '" + name + "' is deployed (see ./fn list)");
            return;
        }
        if (InvocationRoutes.refusedByAuth(ctx, callId, authorizer.forInvocation(fn.get().deployment().config(), req.getHeader("Authorization")))) {
            return;
        }
        String callback = req.getHeader(CALLBACK_HEADER);
        if (callback != null && !CallbackSender.acceptable(callback.trim())) {
            error(resp, callId, 400, "bad_callback_url", CALLBACK_HEADER + " must be an absolute http:// or https:// URL, not '" + callback + "'");
            return;
        }
        long max = config.maxBodyBytes();
        String cl = req.getHeader("Content-Length");
        if (cl != null) {
            long length;
            try {
                length = Long.parseLong(cl.trim());
            } catch (NumberFormatException e) {
                error(resp, callId, 400, "bad_request", "Content-Length is not a number");
                return;
            }
            if (length > max) {
                tooLarge(resp, callId, http1, "the request body of " + length + " bytes exceeds the limit of " + max + " bytes");
                return;
            }
        }
        List<Header> headers = InvocationRoutes.forwardedHeaders(req);
        String method = req.method().name();
        String query = req.query();
        // The body is collected whole (it goes into one Kafka record), counting as it comes: a
        // chunked body without Content-Length is cut off at the limit too.
        Buffer body = Buffer.buffer();
        boolean[] refused = {false};
        req.handler(chunk -> {
            if (refused[0]) return;
            if (body.length() + chunk.length() > max) {
                refused[0] = true;
                tooLarge(resp, callId, http1, "the request body exceeds the limit of " + max + " bytes");
                return;
            }
            body.appendBuffer(chunk);
        });
        req.exceptionHandler(e -> {
            if (!refused[0]) error(resp, callId, 400, "bad_request_body", "the request body broke off: " + e.getMessage());
            refused[0] = true;
        });
        req.endHandler(v -> {
            if (refused[0]) return;
            AsyncCall call = new AsyncCall(callId, name, method, path, query, headers, body.getBytes(), Instant.now(),
                    callback == null ? null : callback.trim(), 1, null, 0, null);
            producing.execute(() -> enqueue(call, resp));
        });
        // Quarkus hands routes a paused request (quarkusio/quarkus#31101).
        req.resume();
    }

    private void enqueue(AsyncCall call, HttpServerResponse resp) {
        try {
            producer.sendAcked(AsyncMessages.callRecord(call));
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
            if (cause instanceof org.apache.kafka.common.errors.RecordTooLargeException) {
                // Only with an fn.async made before skiff.max-body-bytes was raised (Skiff sizes the topics it creates).
                error(resp, call.callId(), 413, "body_too_large", "the call is larger than the topic " + AsyncTopics.CALLS
                        + " takes (its max.message.bytes is below skiff.max-body-bytes): " + cause.getMessage());
                return;
            }
            LOG.warnf("async call %s to %s not accepted: the broker did not acknowledge it (%s)", call.callId(), call.function(), cause);
            resp.putHeader("Retry-After", "5");
            error(resp, call.callId(), 503, "queue_unavailable",
                    "the call could not be queued (the Kafka broker did not acknowledge it); nothing was accepted, try again");
            return;
        }
        metrics.accepted(call.function());
        results.update(CallResult.queued(call, Instant.now()));
        String statusUrl = "/v1/calls/" + call.callId();
        if (resp.ended() || resp.closed()) return; // the caller left; the call runs anyway
        resp.setStatusCode(202)
                .putHeader("Content-Type", "application/json")
                .putHeader("X-Call-Id", call.callId())
                .putHeader("Location", statusUrl)
                .end("{\"callId\":\"" + call.callId() + "\",\"status\":\"queued\",\"statusUrl\":\"" + statusUrl + "\"}");
    }

    private static void tooLarge(HttpServerResponse resp, String callId, boolean http1, String message) {
        // The rest of the body stays unread: on HTTP/1 that makes the connection unusable.
        if (http1) resp.putHeader("Connection", "close");
        error(resp, callId, 413, "body_too_large", message);
    }
}
