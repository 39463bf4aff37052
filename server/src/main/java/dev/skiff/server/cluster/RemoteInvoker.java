package dev.skiff.server.cluster;

import dev.skiff.gateway.InternalCallers;
import dev.skiff.gateway.InvocationRoutes;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.StreamedResponse;
import dev.skiff.invoker.http.HttpMessage;
import dev.skiff.invoker.http.UnixHttpConnection;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * Calls on an invoker in another process, over its internal HTTP endpoint (with the same small
 * keep-alive HTTP/1.1 client the invoker uses towards its sandboxes)
 * ({@code /internal/fn/NAME/PATH}, see the gateway's InvocationRoutes), which runs the call on
 * that invoker's sandboxes exactly as a local call would. The version travels in a header, so a
 * call always runs the version the gateway chose even while the invoker's copy of the function
 * catalog catches up.
 */
public final class RemoteInvoker {
    private static final String VERSION_HEADER = InvocationRoutes.VERSION_HEADER;
    private static final String REPLICA_LIMIT_HEADER = InvocationRoutes.REPLICA_LIMIT_HEADER;
    private static final String INVOKER_ERROR_HEADER = InvocationRoutes.INVOKER_ERROR_HEADER;
    private static final String NOT_HERE = InvocationRoutes.NOT_HERE;
    private static final String NO_ROOM = InvocationRoutes.NO_ROOM;

    /** The call never reached the invoker (nothing was sent): safe to try another one. */
    public static final class NotReached extends Exception {
        NotReached(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** This cluster's key, shown on every call to an invoker (null while not known: the invoker refuses the call). */
    private final java.util.function.Supplier<String> clusterKey;

    public RemoteInvoker(java.util.function.Supplier<String> clusterKey) {
        this.clusterKey = clusterKey;
    }

    /** Idle keep-alive connections per invoker URL, most recently used first. */
    private final java.util.Map<String, java.util.concurrent.ConcurrentLinkedDeque<Idle>> idle = new java.util.concurrent.ConcurrentHashMap<>();

    private record Idle(UnixHttpConnection connection, long since) {}

    /**
     * Closes a connection whose call outlived its deadline: an invoker that froze or dropped off
     * the network mid-call sends neither an answer nor a reset, and the call would wait for ever.
     */
    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG = watchdog();

    private static java.util.concurrent.ScheduledExecutorService watchdog() {
        var w = new java.util.concurrent.ScheduledThreadPoolExecutor(1, Thread.ofPlatform().daemon().name("remote-call-watchdog").factory());
        // A finished call cancels its watchdog: without this the cancelled task would stay queued
        // until its deadline (the function's timeout and more), tens of thousands of them under load.
        w.setRemoveOnCancelPolicy(true);
        return w;
    }
    /** How long a warm-up may take on the invoker (it starts a replica). */
    private static final java.time.Duration WARM_UP_DEADLINE = java.time.Duration.ofMinutes(2);

    /** Idle connections older than this are closed rather than reused (well under the invoker's idle timeout). */
    private static final long IDLE_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(20);

    /**
     * Runs a call on the invoker at {@code baseUrl}; returns once the response head is in. The
     * connection (kept alive and reused, like the invoker's own to its sandboxes) goes back to
     * the pool once the body has been read to its end.
     */
    public StreamedResponse invokeStreaming(String baseUrl, FunctionDeployment d, InvocationRequest call, int replicaLimit,
            java.time.Duration deadline) throws NotReached, InvocationException {
        InvocationRequest there = new InvocationRequest(call.callId(), call.method(), "/internal/fn/" + d.name() + call.path(), call.query(),
                withoutInternalHeaders(call.headers()), call.body(), call.bodyStream(), call.bodyLength());
        List<HttpMessage.Header> extra = List.of(new HttpMessage.Header(VERSION_HEADER, Long.toString(d.version())),
                new HttpMessage.Header(REPLICA_LIMIT_HEADER, Integer.toString(replicaLimit)),
                new HttpMessage.Header("X-Call-Id", call.callId()), keyHeader());
        UnixHttpConnection c = take(baseUrl);
        java.util.concurrent.atomic.AtomicBoolean timedOut = new java.util.concurrent.atomic.AtomicBoolean();
        var watchdog = WATCHDOG.schedule(() -> {
            timedOut.set(true);
            c.close();
        }, deadline.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        StreamedResponse r;
        try {
            r = c.exchangeStreaming(there, extra);
        } catch (dev.skiff.invoker.RequestBodyException e) {
            watchdog.cancel(false);
            c.close();
            throw new InvocationException(e.status(), "bad_request_body", e.getMessage());
        } catch (IOException e) {
            watchdog.cancel(false);
            c.close();
            if (timedOut.get()) throw silent(baseUrl, deadline);
            throw new InvocationException(502, "invoker_lost", "the invoker at " + baseUrl + " went away during the call: " + e.getMessage());
        }
        String refused = HttpMessage.first(r.headers(), INVOKER_ERROR_HEADER);
        if (InvocationRoutes.notTakenByInvoker(refused)) {
            watchdog.cancel(false);
            close(r.body());
            giveBack(baseUrl, c);
            throw new NotReached(whyNotTaken(refused, baseUrl, d), null);
        }
        List<HttpMessage.Header> headers = new ArrayList<>();
        for (HttpMessage.Header h : r.headers()) if (!h.name().equalsIgnoreCase(INVOKER_ERROR_HEADER)) headers.add(h);
        return new StreamedResponse(r.status(), headers, r.contentLength(), returningAtEnd(r.body(), baseUrl, c, watchdog));
    }

    /** The cluster key header; empty while the key is not known, which the invoker refuses like a wrong one. */
    private HttpMessage.Header keyHeader() {
        String k = clusterKey.get();
        return new HttpMessage.Header(InternalCallers.KEY_HEADER, k == null ? "" : k);
    }

    /** Why an invoker did not take a call, from its {@code X-Skiff-Invoker-Error}. */
    static String whyNotTaken(String invokerError, String baseUrl, FunctionDeployment d) {
        return switch (invokerError) {
            case NOT_HERE -> "the invoker at " + baseUrl + " does not have version " + d.version() + " of " + d.name() + " yet";
            case NO_ROOM -> "the invoker at " + baseUrl + " has no memory left for a replica of " + d.name();
            default -> "the invoker at " + baseUrl + " refused this gateway's cluster key (it has not read " + ClusterKey.TOPIC
                    + " yet, or this gateway has not, or they use different Kafka clusters)";
        };
    }

    static InvocationException silent(String baseUrl, java.time.Duration deadline) {
        return new InvocationException(504, "invoker_silent", "the invoker at " + baseUrl + " did not finish the call within "
                + deadline.toSeconds() + " s (the function's timeout and queue wait, and a margin); the connection was dropped");
    }

    static List<HttpMessage.Header> withoutInternalHeaders(List<HttpMessage.Header> headers) {
        List<HttpMessage.Header> out = new ArrayList<>(headers.size());
        for (HttpMessage.Header h : headers) {
            String n = h.name();
            // The caller's own copies of Skiff's internal headers must not steer the invoker.
            if (!n.equalsIgnoreCase(VERSION_HEADER) && !n.equalsIgnoreCase(REPLICA_LIMIT_HEADER) && !n.equalsIgnoreCase("X-Call-Id")
                    && !n.equalsIgnoreCase(InternalCallers.KEY_HEADER)) {
                out.add(h);
            }
        }
        return out;
    }

    private UnixHttpConnection take(String baseUrl) throws NotReached {
        var pool = idle.computeIfAbsent(baseUrl, k -> new java.util.concurrent.ConcurrentLinkedDeque<>());
        for (Idle i; (i = pool.pollFirst()) != null; ) {
            if (System.nanoTime() - i.since() < IDLE_NANOS && i.connection().reusable() && i.connection().peerStillThere()) return i.connection();
            i.connection().close();
        }
        URI u = URI.create(baseUrl);
        try {
            return UnixHttpConnection.open(new java.net.InetSocketAddress(u.getHost(), u.getPort() < 0 ? 80 : u.getPort()), 1000);
        } catch (IOException e) {
            throw new NotReached("cannot connect to the invoker at " + baseUrl + ": " + e, e);
        }
    }

    private void giveBack(String baseUrl, UnixHttpConnection c) {
        if (c.reusable()) idle.computeIfAbsent(baseUrl, k -> new java.util.concurrent.ConcurrentLinkedDeque<>()).addFirst(new Idle(c, System.nanoTime()));
        else c.close();
    }

    /** The body; at its end the connection goes back to the pool, closed early it is drained a little or dropped. */
    private InputStream returningAtEnd(InputStream body, String baseUrl, UnixHttpConnection c, java.util.concurrent.Future<?> watchdog) {
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        return new java.io.FilterInputStream(body) {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n;
                try {
                    n = super.read(b, off, len);
                } catch (IOException e) {
                    if (done.compareAndSet(false, true)) {
                        watchdog.cancel(false);
                        c.close();
                    }
                    throw e;
                }
                if (n < 0 && done.compareAndSet(false, true)) {
                    watchdog.cancel(false);
                    giveBack(baseUrl, c);
                }
                return n;
            }

            @Override
            public void close() {
                if (done.get()) return;
                // Left unread (the caller went away, or the gateway read exactly Content-Length):
                // read a little further for the end, else drop the connection.
                try {
                    byte[] rest = new byte[8192];
                    for (int i = 0; i < 8; i++) if (read(rest, 0, rest.length) < 0) return;
                } catch (IOException ignored) {
                    // dropped below
                }
                if (done.compareAndSet(false, true)) {
                    watchdog.cancel(false);
                    c.close();
                }
            }
        };
    }

    /** Makes the invoker start (or find) a ready replica of this version; an InvocationException says why it cannot. */
    public void warmUp(String baseUrl, FunctionDeployment d) throws NotReached, InvocationException {
        InvocationRequest req = new InvocationRequest(java.util.UUID.randomUUID().toString(), "POST", "/internal/warmup/" + d.name(), "",
                List.of(), new byte[0]);
        UnixHttpConnection c = take(baseUrl);
        var watchdog = WATCHDOG.schedule(c::close, WARM_UP_DEADLINE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        dev.skiff.invoker.InvocationResponse resp;
        try {
            resp = c.exchange(req, List.of(new HttpMessage.Header(VERSION_HEADER, Long.toString(d.version())), keyHeader()));
        } catch (IOException e) {
            c.close();
            throw new InvocationException(502, "invoker_lost", "the invoker at " + baseUrl + " failed during warm-up: " + e.getMessage());
        } finally {
            watchdog.cancel(false);
        }
        giveBack(baseUrl, c);
        if (resp.status() / 100 == 2) return;
        String refused = HttpMessage.first(resp.headers(), INVOKER_ERROR_HEADER);
        if (InvocationRoutes.notTakenByInvoker(refused)) throw new NotReached(whyNotTaken(refused, baseUrl, d), null);
        throw new InvocationException(resp.status(), "start_failed", messageOf(new String(resp.body(), java.nio.charset.StandardCharsets.UTF_8)));
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
