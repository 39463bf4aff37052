package dev.skiff.gateway;

import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.InvocationResponse;
import dev.skiff.invoker.Invoker;
import dev.skiff.invoker.SkiffConfig;
import dev.skiff.invoker.http.HttpMessage;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * Synchronous invocation: any method on /fn/{name} and /fn/{name}/{path…}. Method, path,
 * query, headers and body pass through to the function; its status, headers and body come
 * back, plus an X-Call-Id header on every answer.
 */
@ApplicationScoped
public class InvocationRoutes {
    private static final Logger LOG = Logger.getLogger(InvocationRoutes.class);
    static final String CALL_ID = "X-Call-Id";

    @Inject
    FunctionStore store;

    @Inject
    Invoker invoker;

    @Inject
    SkiffConfig config;

    void register(@Observes Router router) {
        router.route("/fn/*")
                .handler(BodyHandler.create(false).setBodyLimit(config.maxBodyBytes()))
                .handler(this::invoke)
                .failureHandler(this::failure);
    }

    private void failure(RoutingContext ctx) {
        int status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
        if (status == 413) {
            error(ctx.response(), UUID.randomUUID().toString(), 413, "body_too_large",
                    "the request body exceeds the limit of " + config.maxBodyBytes() + " bytes");
        } else {
            LOG.warn("invocation failed", ctx.failure());
            error(ctx.response(), UUID.randomUUID().toString(), status, "internal_error",
                    ctx.failure() == null ? "request failed" : String.valueOf(ctx.failure().getMessage()));
        }
    }

    private void invoke(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        String callId = UUID.randomUUID().toString();
        String rest = req.path().substring("/fn/".length());
        int slash = rest.indexOf('/');
        String name = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "/" : rest.substring(slash);
        FunctionDeployment d = store.get(name).map(FunctionStore.Stored::deployment).orElse(null);
        if (d == null) {
            error(ctx.response(), callId, 404, "function_not_found", "no function named '" + name + "' is deployed (see ./fn list)");
            return;
        }
        List<HttpMessage.Header> headers = new ArrayList<>();
        for (Map.Entry<String, String> h : req.headers()) headers.add(new HttpMessage.Header(h.getKey(), h.getValue()));
        headers.add(new HttpMessage.Header("X-Forwarded-For", req.remoteAddress() == null ? "" : req.remoteAddress().hostAddress()));
        headers.add(new HttpMessage.Header("X-Forwarded-Proto", req.scheme()));
        if (req.authority() != null) headers.add(new HttpMessage.Header("X-Forwarded-Host", req.authority().toString()));
        Buffer body = ctx.body().buffer();
        InvocationRequest call = new InvocationRequest(callId, req.method().name(), path, req.query(), headers,
                body == null ? new byte[0] : body.getBytes());
        // The invoker blocks (sockets to the sandbox); a virtual thread per call keeps the event loop free.
        Thread.ofVirtual().name("call-" + callId).start(() -> {
            try {
                InvocationResponse r = invoker.invoke(d, call);
                HttpServerResponse resp = ctx.response().setStatusCode(r.status());
                MultiMap out = resp.headers();
                for (HttpMessage.Header h : r.headers()) if (!HttpMessage.isHopByHop(h.name())) out.add(h.name(), h.value());
                out.set(CALL_ID, callId);
                resp.end(Buffer.buffer(r.body()));
            } catch (InvocationException e) {
                LOG.infof("call %s to %s: %d %s", callId, name, e.status(), e.getMessage());
                HttpServerResponse resp = ctx.response();
                if (e.retryAfterSeconds() > 0) resp.putHeader("Retry-After", Long.toString(e.retryAfterSeconds()));
                error(resp, callId, e.status(), e.error(), e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("call " + callId + " to " + name, e);
                error(ctx.response(), callId, 500, "internal_error", String.valueOf(e.getMessage()));
            }
        });
    }

    static void error(HttpServerResponse resp, String callId, int status, String error, String message) {
        if (resp.ended()) return;
        resp.setStatusCode(status)
                .putHeader("Content-Type", "application/json")
                .putHeader(CALL_ID, callId)
                .end(new ApiError(error, message).toJson());
    }
}
