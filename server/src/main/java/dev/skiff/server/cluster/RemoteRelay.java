package dev.skiff.server.cluster;

import dev.skiff.gateway.InvocationRoutes;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.http.HttpMessage;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * The call of {@link RemoteInvoker#invokeStreaming}, made from the event loop the caller's request
 * came in on, with Vert.x's non-blocking HTTP client: the call goes out and its answer comes back
 * on that one thread, with no hand-off to a call thread and back (see {@link dev.skiff.gateway.EventLoopRelay}).
 * Same request (path, headers, version and replica limit), same refusals and failures as the
 * blocking client; only for bodies in memory.
 *
 * <p>One client per event loop: Vert.x opens a client's connections on the event loop that asked
 * for them but hands out any idle one (the most recently used), so a shared client would often
 * serve a call on a connection of another event loop, two hand-offs again.
 */
final class RemoteRelay {
    private static final Logger LOG = Logger.getLogger(RemoteRelay.class);

    /** How a relayed call ended; each call ends in exactly one of them, on the event loop. */
    interface Outcome {
        /** The invoker answered and the answer went to the caller (or the caller went away meanwhile). */
        void answered();

        /** Nothing was sent ({@code unreachable}: no connection), or the invoker said it cannot take the call: another one may. */
        void notTaken(String message, boolean unreachable);

        /** The call was sent and no answer came (the invoker went away, or was silent past the deadline). */
        void failed(InvocationException e);
    }

    private final Vertx vertx;
    private final Map<Thread, HttpClient> clientPerEventLoop = new ConcurrentHashMap<>();
    /** Invoker URLs, parsed once (URI.create was a few per cent of the event loop's time per call). */
    private final Map<String, URI> parsedUrls = new ConcurrentHashMap<>();

    /** This cluster's key, shown on every call (null while not known: the invoker refuses the call and another is tried). */
    private final java.util.function.Supplier<String> clusterKey;

    RemoteRelay(Vertx vertx, java.util.function.Supplier<String> clusterKey) {
        this.vertx = vertx;
        this.clusterKey = clusterKey;
    }

    private HttpClient client() {
        return clientPerEventLoop.computeIfAbsent(Thread.currentThread(), t -> vertx.createHttpClient(
                new HttpClientOptions().setConnectTimeout(1000).setTcpNoDelay(true)
                        // Well under the invoker's idle timeout, like RemoteInvoker's pool.
                        .setKeepAliveTimeout(20),
                // The blocking client has no limit either: calls wait in the invoker's queue, not here.
                new PoolOptions().setHttp1MaxSize(4096)));
    }

    /** Sends the call to the invoker at {@code baseUrl} and answers the caller on {@code resp}. On the event loop. */
    void relay(String baseUrl, FunctionDeployment d, InvocationRequest call, int replicaLimit, Duration deadline, HttpServerResponse resp,
            Outcome outcome) {
        URI u = parsedUrls.computeIfAbsent(baseUrl, URI::create);
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.valueOf(call.method()))
                .setHost(u.getHost()).setPort(u.getPort() < 0 ? 80 : u.getPort())
                .setURI("/internal/fn/" + d.name() + call.path() + (call.query().isEmpty() ? "" : "?" + call.query()));
        // Validating headers: one the client refuses throws here, before anything is sent (the
        // caller then takes the blocking path), rather than failing the request as if the invoker were down.
        MultiMap headers = io.vertx.core.http.HttpHeaders.headers();
        for (HttpMessage.Header h : RemoteInvoker.withoutInternalHeaders(call.headers())) {
            if (!HttpMessage.isHopByHop(h.name())) headers.add(h.name(), h.value());
        }
        headers.add(InvocationRoutes.VERSION_HEADER, Long.toString(d.version()));
        headers.add(InvocationRoutes.REPLICA_LIMIT_HEADER, Integer.toString(replicaLimit));
        headers.add(InvocationRoutes.CALL_ID, call.callId());
        String key = clusterKey.get();
        headers.add(dev.skiff.gateway.InternalCallers.KEY_HEADER, key == null ? "" : key);
        options.setHeaders(headers);
        client().request(options).onComplete(connected -> {
            if (connected.failed()) {
                outcome.notTaken("cannot connect to the invoker at " + baseUrl + ": " + connected.cause(), true);
                return;
            }
            send(connected.result(), baseUrl, d, call, deadline, resp, outcome);
        });
    }

    private void send(HttpClientRequest req, String baseUrl, FunctionDeployment d, InvocationRequest call, Duration deadline,
            HttpServerResponse resp, Outcome outcome) {
        boolean[] timedOut = {false};
        // A frozen or cut-off invoker sends neither an answer nor a reset: drop the call at the deadline.
        long watchdog = vertx.setTimer(Math.max(1, deadline.toMillis()), id -> {
            timedOut[0] = true;
            req.reset();
        });
        req.send(Buffer.buffer(call.body())).onComplete(sent -> {
            if (sent.failed()) {
                vertx.cancelTimer(watchdog);
                outcome.failed(timedOut[0] ? RemoteInvoker.silent(baseUrl, deadline)
                        : new InvocationException(502, "invoker_lost", "the invoker at " + baseUrl + " went away during the call: " + sent.cause().getMessage()));
                return;
            }
            HttpClientResponse r = sent.result();
            String refused = r.getHeader(InvocationRoutes.INVOKER_ERROR_HEADER);
            if (InvocationRoutes.notTakenByInvoker(refused)) {
                // Its short error body is read to the end, so the connection goes back to the pool.
                r.body().onComplete(ignored -> {
                    vertx.cancelTimer(watchdog);
                    outcome.notTaken(RemoteInvoker.whyNotTaken(refused, baseUrl, d), false);
                });
                return;
            }
            Runnable done = () -> {
                vertx.cancelTimer(watchdog);
                outcome.answered();
            };
            try {
                answer(r, req, call, resp, done);
            } catch (RuntimeException e) {
                // A handler that throws would leave the caller waiting for ever: cut the call instead.
                LOG.warnf(e, "call %s: relaying the invoker's answer failed", call.callId());
                req.reset();
                cut(resp, call.callId(), String.valueOf(e.getMessage()));
                done.run();
            }
        });
    }

    /** Passes the invoker's answer on to the caller: status, end-to-end headers, X-Call-Id, and the body at the caller's pace. */
    private static void answer(HttpClientResponse r, HttpClientRequest req, InvocationRequest call, HttpServerResponse resp, Runnable done) {
        if (resp.closed() || resp.ended()) {
            req.reset(); // the caller went away: the rest of the answer must not be taken for the next call's
            done.run();
            return;
        }
        resp.setStatusCode(r.statusCode());
        MultiMap out = resp.headers();
        for (Map.Entry<String, String> h : r.headers()) {
            if (!HttpMessage.isHopByHop(h.getKey()) && !h.getKey().equalsIgnoreCase(InvocationRoutes.INVOKER_ERROR_HEADER)) out.add(h.getKey(), h.getValue());
        }
        out.set(InvocationRoutes.CALL_ID, call.callId());
        // No body on 204 and 304 whatever the headers say (as the blocking client reads them).
        long length = r.statusCode() == 204 || r.statusCode() == 304 ? 0 : contentLength(r);
        if (length >= 0 && length <= InvocationRoutes.SMALL_BODY) {
            // The common small answer: whole, in one write.
            r.body().onComplete(body -> {
                if (body.succeeded() && body.result().length() == length) {
                    out.set("Content-Length", Long.toString(length));
                    resp.end(body.result());
                } else {
                    req.reset();
                    cut(resp, call.callId(), body.succeeded() ? "the function's response ended early" : String.valueOf(body.cause().getMessage()));
                }
                done.run();
            });
            return;
        }
        if (length >= 0) out.set("Content-Length", Long.toString(length));
        else resp.setChunked(true);
        // The caller's back-pressure reaches the invoker; a broken answer is cut, never ended as if whole.
        r.pipe().endOnFailure(false).to(resp).onComplete(piped -> {
            if (piped.failed()) {
                req.reset();
                cut(resp, call.callId(), String.valueOf(piped.cause().getMessage()));
            }
            done.run();
        });
    }

    private static long contentLength(HttpClientResponse r) {
        String cl = r.getHeader("Content-Length");
        if (cl == null) return -1;
        try {
            return Long.parseLong(cl.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The invoker's answer broke off: a 502 if nothing went to the caller yet, else the connection is cut. */
    private static void cut(HttpServerResponse resp, String callId, String why) {
        if (resp.ended() || resp.closed()) return;
        if (!resp.headWritten()) {
            resp.headers().clear();
            InvocationRoutes.error(resp, callId, 502, "function_response_broken", why);
        } else {
            resp.reset();
        }
    }

    void close() {
        clientPerEventLoop.values().forEach(HttpClient::close);
        clientPerEventLoop.clear();
    }
}
