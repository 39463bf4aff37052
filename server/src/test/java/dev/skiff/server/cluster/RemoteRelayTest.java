package dev.skiff.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.gateway.InvocationRoutes;
import dev.skiff.invoker.FunctionConfigParser;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.http.HttpMessage;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A gateway-like Vert.x server relaying its calls with RemoteRelay to a fake invoker. */
class RemoteRelayTest {
    private static final String KEY = "k".repeat(43);
    private FunctionDeployment echo;
    private Vertx vertx;
    private RemoteRelay relay;
    private final HttpClient caller = HttpClient.newHttpClient();
    /** How the last relayed call ended: "answered", "notTaken:<unreachable>:<message>" or "failed:<status> <error>". */
    private final CompletableFuture<String> outcome = new CompletableFuture<>();
    private volatile Thread gatewayThread;
    private volatile Thread answerThread;

    @BeforeEach
    void start() throws Exception {
        echo = new FunctionDeployment(FunctionConfigParser.parse("name: echo\nruntime: python\n"), 7, Path.of("/nonexistent"));
        vertx = Vertx.vertx();
        relay = new RemoteRelay(vertx, () -> KEY);
    }

    @AfterEach
    void stop() throws Exception {
        relay.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private int listen(Handler<HttpServerRequest> handler) throws Exception {
        HttpServer server = vertx.createHttpServer().requestHandler(handler);
        return server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
    }

    /** A gateway that relays every call to {@code invokerUrl} and reports the outcome. */
    private int gateway(String invokerUrl, Duration deadline) throws Exception {
        return listen(req -> req.body().onSuccess(body -> {
            gatewayThread = Thread.currentThread();
            InvocationRequest call = new InvocationRequest("call-1", req.method().name(), "/sub/path", "a=1",
                    List.of(new HttpMessage.Header("X-Mine", "yes"), new HttpMessage.Header(InvocationRoutes.VERSION_HEADER, "999"),
                            new HttpMessage.Header(dev.skiff.gateway.InternalCallers.KEY_HEADER, "the caller's guess")), body.getBytes());
            relay.relay(invokerUrl, echo, call, 3, deadline, req.response(), new RemoteRelay.Outcome() {
                @Override
                public void answered() {
                    answerThread = Thread.currentThread();
                    outcome.complete("answered");
                }

                @Override
                public void notTaken(String message, boolean unreachable) {
                    outcome.complete("notTaken:" + unreachable + ":" + message);
                    req.response().setStatusCode(599).end();
                }

                @Override
                public void failed(InvocationException e) {
                    outcome.complete("failed:" + e.status() + " " + e.error());
                    req.response().setStatusCode(598).end();
                }
            });
        }));
    }

    private HttpResponse<String> post(int port, String body) throws Exception {
        return caller.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/fn/echo")).timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theCallGoesToTheInternalRouteWithTheVersionAndTheAnswerComesBackOnTheSameEventLoop() throws Exception {
        CompletableFuture<HttpServerRequest> seen = new CompletableFuture<>();
        int invoker = listen(req -> req.body().onSuccess(body -> {
            seen.complete(req);
            req.response().putHeader("X-Fn", "here").putHeader(InvocationRoutes.INVOKER_ERROR_HEADER, "nothing").end("echo:" + body);
        }));
        int gw = gateway("http://127.0.0.1:" + invoker, Duration.ofSeconds(10));
        for (int i = 0; i < 3; i++) { // the second and third on the pooled connection
            HttpResponse<String> r = post(gw, "hello" + i);
            assertEquals(200, r.statusCode());
            assertEquals("echo:hello" + i, r.body());
            assertEquals("here", r.headers().firstValue("X-Fn").orElse(null));
            assertEquals("call-1", r.headers().firstValue("X-Call-Id").orElse(null));
            assertTrue(r.headers().firstValue(InvocationRoutes.INVOKER_ERROR_HEADER).isEmpty(), "the invoker's own header is not passed on");
        }
        HttpServerRequest req = seen.get(10, TimeUnit.SECONDS);
        assertEquals("/internal/fn/echo/sub/path", req.path());
        assertEquals("a=1", req.query());
        assertEquals("7", req.getHeader(InvocationRoutes.VERSION_HEADER), "the gateway's version, not the caller's");
        assertEquals("3", req.getHeader(InvocationRoutes.REPLICA_LIMIT_HEADER));
        assertEquals("call-1", req.getHeader("X-Call-Id"));
        assertEquals("yes", req.getHeader("X-Mine"));
        assertEquals(KEY, req.getHeader(dev.skiff.gateway.InternalCallers.KEY_HEADER), "the cluster key goes with every call");
        assertEquals("answered", outcome.get(10, TimeUnit.SECONDS));
        assertEquals(gatewayThread, answerThread, "the answer is relayed on the event loop the call came in on");
    }

    @Test
    void aLargeAnswerStreamsThrough() throws Exception {
        String big = "x".repeat(300_000);
        int invoker = listen(req -> req.response().setChunked(true).end(big));
        int gw = gateway("http://127.0.0.1:" + invoker, Duration.ofSeconds(10));
        HttpResponse<String> r = post(gw, "");
        assertEquals(200, r.statusCode());
        assertEquals(big, r.body());
    }

    @Test
    void anInvokerWithoutTheVersionDoesNotTakeTheCall() throws Exception {
        int invoker = listen(req -> req.response().setStatusCode(503).putHeader(InvocationRoutes.INVOKER_ERROR_HEADER, InvocationRoutes.NOT_HERE).end("{}"));
        int gw = gateway("http://127.0.0.1:" + invoker, Duration.ofSeconds(10));
        assertEquals(599, post(gw, "x").statusCode());
        String o = outcome.get(10, TimeUnit.SECONDS);
        assertTrue(o.startsWith("notTaken:false:") && o.contains("does not have version 7"), o);
    }

    @Test
    void anInvokerThatRefusesTheClusterKeyDoesNotTakeTheCall() throws Exception {
        int invoker = listen(req -> req.response().setStatusCode(403).putHeader(InvocationRoutes.INVOKER_ERROR_HEADER, InvocationRoutes.KEY_REFUSED).end("{}"));
        int gw = gateway("http://127.0.0.1:" + invoker, Duration.ofSeconds(10));
        assertEquals(599, post(gw, "x").statusCode(), "the invoker's 403 is not passed on as the function's answer");
        String o = outcome.get(10, TimeUnit.SECONDS);
        assertTrue(o.startsWith("notTaken:false:") && o.contains("refused this gateway's cluster key"), o);
    }

    @Test
    void anInvokerThatCannotBeReachedDoesNotTakeTheCall() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        int gw = gateway("http://127.0.0.1:" + closedPort, Duration.ofSeconds(10));
        assertEquals(599, post(gw, "x").statusCode());
        assertTrue(outcome.get(10, TimeUnit.SECONDS).startsWith("notTaken:true:cannot connect"), outcome.get());
    }

    @Test
    void anInvokerThatTakesTheCallAndNeverAnswersIsGivenUpOnAtTheDeadline() throws Exception {
        List<Socket> held = new CopyOnWriteArrayList<>();
        try (ServerSocket frozen = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) held.add(frozen.accept());
                } catch (Exception closed) {
                    // test over
                }
            });
            int gw = gateway("http://127.0.0.1:" + frozen.getLocalPort(), Duration.ofMillis(500));
            long started = System.nanoTime();
            assertEquals(598, post(gw, "x").statusCode());
            double seconds = (System.nanoTime() - started) / 1e9;
            assertEquals("failed:504 invoker_silent", outcome.get(10, TimeUnit.SECONDS));
            assertTrue(seconds >= 0.45 && seconds < 10, "gave up after " + seconds + " s");
        } finally {
            for (Socket s : held) s.close();
        }
    }

    @Test
    void anInvokerThatDiesMidCallIsLost() throws Exception {
        int invoker = listen(req -> req.connection().close());
        int gw = gateway("http://127.0.0.1:" + invoker, Duration.ofSeconds(10));
        assertEquals(598, post(gw, "x").statusCode());
        assertEquals("failed:502 invoker_lost", outcome.get(10, TimeUnit.SECONDS));
    }

    @Test
    void anAnswerThatBreaksOffIsNotPassedOnAsWhole() throws Exception {
        int invoker = listen(req -> {
            req.response().putHeader("Content-Length", "100").write("only a part");
            vertx.setTimer(100, id -> req.connection().close());
        });
        int gw = gateway("http://127.0.0.1:" + invoker, Duration.ofSeconds(10));
        HttpResponse<String> r = post(gw, "x");
        assertEquals(502, r.statusCode());
        assertNotEquals("only a part", r.body());
        assertNull(r.headers().firstValue("X-Skiff-Invoker-Error").orElse(null));
        assertEquals("answered", outcome.get(10, TimeUnit.SECONDS));
    }
}
