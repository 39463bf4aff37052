package dev.skiff.gateway;

import dev.skiff.gateway.auth.Authorizer;
import dev.skiff.gateway.auth.ManagementGuard;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.StreamedResponse;
import dev.skiff.invoker.Invoker;
import dev.skiff.invoker.SkiffConfig;
import dev.skiff.invoker.http.HttpMessage;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.InputStream;
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
    public static final String CALL_ID = "X-Call-Id";
    /** The version a gateway chose, on calls to /internal/fn (the invoker does not pick one itself). */
    public static final String VERSION_HEADER = "X-Skiff-Version";
    /**
     * On /internal/fn: the most replicas of the function the invoker may run for this call (the
     * function's maxScale less the replicas the gateway knows run elsewhere); absent = maxScale.
     */
    public static final String REPLICA_LIMIT_HEADER = "X-Skiff-Replica-Limit";
    /** On answers that are the invoker's own, not the function's: e.g. it does not have the version. */
    public static final String INVOKER_ERROR_HEADER = "X-Skiff-Invoker-Error";
    public static final String NOT_HERE = "version_not_here";
    /** An invoker without memory left for a replica of the function (and none running): the gateway tries another. */
    public static final String NO_ROOM = "no_room";
    /** A call to /internal without this cluster's key (or before the invoker knows it): the gateway tries another invoker. */
    public static final String KEY_REFUSED = "cluster_key_refused";
    /** How long a call for a version this node has not received yet waits for it. */
    private static final java.time.Duration VERSION_WAIT = java.time.Duration.ofSeconds(10);
    /** Bodies up to this size are read whole (requests on the event loop, answers where the call runs); larger ones stream. */
    public static final int SMALL_BODY = 16 * 1024;
    private static final int STREAM_CHUNK = 64 * 1024;

    /**
     * The threads calls run on. Platform threads first: a platform thread blocked reading the
     * sandbox's socket is woken by the kernel directly, while a virtual thread is woken through
     * the JDK's poller thread and then a carrier (two more thread hand-offs, ~0.1 ms per call on
     * our 2-vCPU machines). Idle ones are kept for a minute. Beyond that many calls at once
     * (a deep queue, slow functions), calls run on virtual threads, which cost no memory to park.
     */
    private static final int PLATFORM_CALL_THREADS = 256;
    private final java.util.concurrent.ExecutorService callThreads = new java.util.concurrent.ThreadPoolExecutor(
            0, PLATFORM_CALL_THREADS, 60, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(),
            Thread.ofPlatform().daemon().name("call-", 0).factory(),
            (task, pool) -> Thread.ofVirtual().name("call-overflow").start(task));

    @Inject
    FunctionStore store;

    @Inject
    Invoker invoker;

    @Inject
    SkiffConfig config;

    /** The invoker in this process, for the internal endpoint gateways call (invoker role). */
    @Inject
    dev.skiff.invoker.LocalInvoker local;

    @Inject
    Authorizer authorizer;

    @Inject
    InternalCallers internalCallers;

    void register(@Observes Router router) {
        if (config.role().gateway()) router.route("/fn/*").handler(this::invoke);
        if (config.role().invoker()) {
            // What gateways in other processes call: the same call, already checked and with its
            // X-Forwarded-* headers, run on this process's sandboxes. Not for the public: on a
            // cluster only the gateways should reach the invokers' port.
            router.route("/internal/fn/*").handler(this::invokeHere);
            router.post("/internal/warmup/:name").blockingHandler(this::warmUpHere, false);
        }
    }

    /** A deployment found on the call thread; it may wait for this node's copy of a new version. */
    private interface DeploymentLookup {
        FunctionDeployment find() throws InvocationException;
    }

    /** Who runs the call: the gateway's invoker (public routes) or this node's own (internal routes). */
    public interface CallTarget {
        StreamedResponse call(FunctionDeployment d, InvocationRequest call) throws InvocationException;
    }

    /** Answers a call from the event loop itself and returns true, or returns false: it runs on a call thread. */
    private interface EventLoopAnswer {
        boolean answered(InvocationRequest call, HttpServerResponse resp, boolean http1);
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
        if (refusedByAuth(ctx, callId, authorizer.forInvocation(d.config(), req.getHeader("Authorization")))) return;
        EventLoopAnswer relayed = invoker instanceof EventLoopRelay relay
                ? (call, resp, http1) -> relay.relay(d, call, resp, http1, target -> runOnCallThread(name, () -> d, target, call, resp, http1))
                : null;
        serve(ctx, callId, name, path, forwardedHeaders(req), () -> d, invoker::invokeStreaming, relayed);
    }

    /**
     * Answers a refused call (401/403 with its challenge) and returns true; false when allowed.
     * Shared by sync and async invocation.
     */
    public static boolean refusedByAuth(RoutingContext ctx, String callId, Authorizer.Outcome auth) {
        if (auth.allowed()) return false;
        ManagementGuard.closeIfBodyUnread(ctx.request(), ctx.response());
        ctx.response().putHeader("WWW-Authenticate", auth.challenge());
        error(ctx.response(), callId, auth.status(), auth.error(), auth.message());
        return true;
    }

    /**
     * The caller's headers as the function gets them: Skiff's own token removed (a function, and
     * whatever it talks to, never sees it), X-Forwarded-For/-Proto/-Host added. Shared by sync
     * and async invocation.
     */
    public static List<HttpMessage.Header> forwardedHeaders(HttpServerRequest req) {
        List<HttpMessage.Header> headers = new ArrayList<>();
        for (Map.Entry<String, String> h : req.headers()) {
            if (Authorizer.isSkiffCredential(h.getKey(), h.getValue())) continue;
            headers.add(new HttpMessage.Header(h.getKey(), h.getValue()));
        }
        headers.add(new HttpMessage.Header("X-Forwarded-For", req.remoteAddress() == null ? "" : req.remoteAddress().hostAddress()));
        headers.add(new HttpMessage.Header("X-Forwarded-Proto", req.scheme()));
        if (req.authority() != null) headers.add(new HttpMessage.Header("X-Forwarded-Host", req.authority().toString()));
        return headers;
    }

    /** True for an invoker's answer that means "not taken here, try another invoker" (never the function's own answer). */
    public static boolean notTakenByInvoker(String invokerError) {
        return NOT_HERE.equals(invokerError) || NO_ROOM.equals(invokerError) || KEY_REFUSED.equals(invokerError);
    }

    /** Answers a call to /internal that lacks the cluster's key with 403 and returns true; false when it is a gateway of this cluster. */
    private boolean refusedAsInternal(RoutingContext ctx, String callId) {
        if (internalCallers.admits(ctx.request().getHeader(InternalCallers.KEY_HEADER))) return false;
        ManagementGuard.closeIfBodyUnread(ctx.request(), ctx.response());
        ctx.response().putHeader(INVOKER_ERROR_HEADER, KEY_REFUSED);
        error(ctx.response(), callId, 403, KEY_REFUSED, "/internal/ is for the gateways of this Skiff cluster, which send the cluster key"
                + " (" + InternalCallers.KEY_HEADER + ", kept on the fn.cluster topic); call functions at /fn/NAME");
        return true;
    }

    /** A call a gateway sends to this invoker: the version it chose is in X-Skiff-Version. */
    private void invokeHere(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        String callId = req.getHeader(CALL_ID) != null ? req.getHeader(CALL_ID) : UUID.randomUUID().toString();
        if (refusedAsInternal(ctx, callId)) return;
        String rest = req.path().substring("/internal/fn/".length());
        int slash = rest.indexOf('/');
        String name = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "/" : rest.substring(slash);
        long version;
        try {
            version = Long.parseLong(req.getHeader(VERSION_HEADER));
        } catch (RuntimeException e) {
            error(ctx.response(), callId, 400, "bad_request", VERSION_HEADER + " must name the function version");
            return;
        }
        int replicaLimit;
        try {
            String limit = req.getHeader(REPLICA_LIMIT_HEADER);
            replicaLimit = limit == null ? Integer.MAX_VALUE : Math.max(0, Integer.parseInt(limit));
        } catch (NumberFormatException e) {
            error(ctx.response(), callId, 400, "bad_request", REPLICA_LIMIT_HEADER + " must be a whole number");
            return;
        }
        List<HttpMessage.Header> headers = new ArrayList<>();
        for (Map.Entry<String, String> h : req.headers()) {
            String key = h.getKey();
            if (!key.equalsIgnoreCase(VERSION_HEADER) && !key.equalsIgnoreCase(REPLICA_LIMIT_HEADER) && !key.equalsIgnoreCase(InternalCallers.KEY_HEADER)) {
                headers.add(new HttpMessage.Header(key, h.getValue()));
            }
        }
        serve(ctx, callId, name, path, headers, () -> versionHere(name, version), (d, call) -> local.invokeStreaming(d, call, replicaLimit), null);
    }

    private void warmUpHere(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        String callId = UUID.randomUUID().toString();
        if (refusedAsInternal(ctx, callId)) return;
        try {
            long version = Long.parseLong(ctx.request().getHeader(VERSION_HEADER));
            local.warmUp(versionHere(name, version));
            ctx.response().setStatusCode(204).end();
        } catch (NumberFormatException | NullPointerException e) {
            error(ctx.response(), callId, 400, "bad_request", VERSION_HEADER + " must name the function version");
        } catch (InvocationException e) {
            if (notTakenByInvoker(e.error())) ctx.response().putHeader(INVOKER_ERROR_HEADER, e.error());
            error(ctx.response(), callId, e.status(), e.error(), e.getMessage());
        }
    }

    /**
     * This node's copy of a version. A version deployed a moment ago may still be on its way
     * through the function catalog (Kafka), so wait for it a little before saying it is not here.
     */
    private FunctionDeployment versionHere(String name, long version) throws InvocationException {
        long deadline = System.nanoTime() + VERSION_WAIT.toNanos();
        while (true) {
            FunctionDeployment d = store.version(name, version).orElse(null);
            if (d != null) return d;
            if (System.nanoTime() > deadline) {
                throw new InvocationException(503, NOT_HERE, "this invoker has no version " + version + " of '" + name + "'");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InvocationException(503, NOT_HERE, "interrupted");
            }
        }
    }

    private void serve(RoutingContext ctx, String callId, String name, String path, List<HttpMessage.Header> headers,
            DeploymentLookup lookup, CallTarget target, EventLoopAnswer onEventLoop) {
        HttpServerRequest req = ctx.request();
        long length = -1;
        String cl = req.getHeader("Content-Length");
        if (cl != null) {
            try {
                length = Long.parseLong(cl.trim());
            } catch (NumberFormatException e) {
                error(ctx.response(), callId, 400, "bad_request", "Content-Length is not a number");
                return;
            }
        }
        boolean http1 = req.version() != io.vertx.core.http.HttpVersion.HTTP_2;
        if (length > config.maxBodyBytes()) {
            // Refused before the function sees a byte of it; on HTTP/1 the unread body makes the
            // connection unusable, so say it closes.
            if (http1) ctx.response().putHeader("Connection", "close");
            error(ctx.response(), callId, 413, "body_too_large",
                    "the request body of " + length + " bytes exceeds the limit of " + config.maxBodyBytes() + " bytes");
            return;
        }
        // HTTP/1.x: no Content-Length and no Transfer-Encoding means no body (RFC 9112 §6.3).
        // HTTP/2 frames the body itself, so there a missing Content-Length means "unknown".
        boolean noBody = length == 0 || req.isEnded() || (length < 0 && http1 && req.getHeader("Transfer-Encoding") == null);
        HttpServerResponse resp = ctx.response();
        String method = req.method().name();
        if (noBody) {
            dispatch(name, lookup, target, onEventLoop, new InvocationRequest(callId, method, path, req.query(), headers, new byte[0]), resp, http1);
        } else if (length >= 0 && length <= SMALL_BODY) {
            // A small body of known size (most calls): read it here, on the event loop, so the call
            // thread never has to wait for the event loop to hand it chunks.
            req.body().onComplete(body -> {
                if (body.failed()) {
                    error(resp, callId, 400, "bad_request_body", "the request body broke off: " + body.cause().getMessage());
                } else {
                    dispatch(name, lookup, target, onEventLoop, new InvocationRequest(callId, method, path, req.query(), headers, body.result().getBytes()), resp, http1);
                }
            });
            // Quarkus hands routes a paused request and resumes it when a data handler is set,
            // which body() does not do (quarkusio/quarkus#31101).
            req.resume();
        } else {
            dispatch(name, lookup, target, onEventLoop, InvocationRequest.streaming(callId, method, path, req.query(), headers,
                    new RequestBodyStream(req, ctx.vertx().getOrCreateContext(), config.maxBodyBytes()), length), resp, http1);
        }
    }

    /**
     * Answers the call from the event loop when {@code onEventLoop} can (a call relayed to an
     * invoker in another process, its body in memory); else runs it on a call thread.
     */
    private void dispatch(String name, DeploymentLookup lookup, CallTarget target, EventLoopAnswer onEventLoop, InvocationRequest call,
            HttpServerResponse resp, boolean http1) {
        if (onEventLoop != null && call.bodyStream() == null && onEventLoop.answered(call, resp, http1)) return;
        runOnCallThread(name, lookup, target, call, resp, http1);
    }

    /** Runs the call off the event loop (the invoker blocks on the sandbox's socket) and relays its answer. */
    private void runOnCallThread(String name, DeploymentLookup lookup, CallTarget target, InvocationRequest call, HttpServerResponse resp,
            boolean http1) {
        String callId = call.callId();
        callThreads.execute(() -> {
            StreamedResponse r;
            try {
                r = target.call(lookup.find(), call);
            } catch (InvocationException e) {
                answerFailure(resp, call, name, e, http1);
                return;
            } catch (RuntimeException e) {
                LOG.error("call " + callId + " to " + name, e);
                error(resp, callId, 500, "internal_error", String.valueOf(e.getMessage()));
                return;
            }
            relay(r, resp, callId, name);
        });
    }

    /** The answer to a call that failed (the function's or an invoker's refusal, a lost invoker, ...). Any thread. */
    public static void answerFailure(HttpServerResponse resp, InvocationRequest call, String name, InvocationException e, boolean http1) {
        LOG.infof("call %s to %s: %d %s", call.callId(), name, e.status(), e.getMessage());
        if (resp.ended() || resp.closed()) return;
        if (e.retryAfterSeconds() > 0) resp.putHeader("Retry-After", Long.toString(e.retryAfterSeconds()));
        if (e.status() == 413 && http1) resp.putHeader("Connection", "close");
        if (notTakenByInvoker(e.error())) resp.putHeader(INVOKER_ERROR_HEADER, e.error());
        error(resp, call.callId(), e.status(), e.error(), e.getMessage());
    }

    /** Streams the function's answer to the caller, at the pace the caller reads it. */
    private static void relay(StreamedResponse r, HttpServerResponse resp, String callId, String name) {
        try (InputStream body = r.body()) {
            resp.setStatusCode(r.status());
            MultiMap out = resp.headers();
            for (HttpMessage.Header h : r.headers()) if (!HttpMessage.isHopByHop(h.name())) out.add(h.name(), h.value());
            out.set(CALL_ID, callId);
            if (r.contentLength() >= 0 && r.contentLength() <= SMALL_BODY) {
                // The common small answer: read it whole and hand the event loop one task
                // (each write from this thread is a separate hop onto the event loop).
                byte[] whole = body.readNBytes((int) r.contentLength());
                if (whole.length != r.contentLength()) throw new IOException("the function's response ended early");
                out.set("Content-Length", Long.toString(whole.length));
                resp.end(Buffer.buffer(whole));
                return;
            }
            if (r.contentLength() >= 0) out.set("Content-Length", Long.toString(r.contentLength()));
            else resp.setChunked(true);
            byte[] buf = new byte[STREAM_CHUNK];
            for (int n; (n = body.read(buf)) > 0; ) {
                awaitWritable(resp);
                resp.write(Buffer.buffer(java.util.Arrays.copyOf(buf, n)));
            }
            resp.end();
        } catch (IOException | IllegalStateException e) {
            // Headers are gone already: all that is left is to cut the connection so the caller
            // sees an incomplete response rather than a short one that looks whole.
            LOG.infof("call %s to %s: response cut: %s", callId, name, e.getMessage());
            if (!resp.headWritten()) {
                error(resp, callId, 502, "function_response_broken", String.valueOf(e.getMessage()));
            } else {
                resp.reset();
            }
        }
    }

    private static void awaitWritable(HttpServerResponse resp) {
        if (!resp.writeQueueFull()) return;
        java.util.concurrent.CountDownLatch drained = new java.util.concurrent.CountDownLatch(1);
        resp.drainHandler(v -> drained.countDown());
        if (!resp.writeQueueFull()) return;
        try {
            while (!drained.await(1, java.util.concurrent.TimeUnit.SECONDS)) {
                if (resp.closed()) throw new IllegalStateException("the caller went away");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    /** The JSON error answer of the invocation routes (sync and async), with the call id. */
    public static void error(HttpServerResponse resp, String callId, int status, String error, String message) {
        if (resp.ended()) return;
        resp.setStatusCode(status)
                .putHeader("Content-Type", "application/json")
                .putHeader(CALL_ID, callId)
                .end(new ApiError(error, message).toJson());
    }
}
