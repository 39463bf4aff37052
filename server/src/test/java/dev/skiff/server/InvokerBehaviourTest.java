package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.invoker.LocalInvoker;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Timeouts, a full queue and crash loops, each with a real sandbox. */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class InvokerBehaviourTest {
    @Inject
    LocalInvoker invoker;

    @Inject
    dev.skiff.invoker.SkiffConfig config;

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static void deploy(String name, String yaml, String handler) throws Exception {
        given().contentType("application/gzip").body(Functions.pack(name, yaml, handler))
                .when().put("/v1/functions/" + name).then().statusCode(201).body("ready", equalTo(true));
    }

    @Test
    void aCallPastItsTimeoutGets504AndOthersAreUnaffected() throws Exception {
        deploy("slowpoke", "timeout: 1s\nconcurrency: 2\n", """
                import time
                def handle(event, context):
                    if event.body == b"hang":
                        time.sleep(60)
                    return "quick"
                """);
        long pidBefore = invoker.sandboxPids("slowpoke").get(0);
        CompletableFuture<Response> hung = CompletableFuture.supplyAsync(() -> given().body("hang").post("/fn/slowpoke"),
                java.util.concurrent.Executors.newSingleThreadExecutor());
        Thread.sleep(200);
        given().when().get("/fn/slowpoke").then().statusCode(200).body(equalTo("quick"));
        Response r = hung.get(20, TimeUnit.SECONDS);
        assertEquals(504, r.statusCode(), r.asString());
        assertTrue(r.jsonPath().getString("message").contains("1000 ms"), r.asString());
        given().when().get("/fn/slowpoke").then().statusCode(200).body(equalTo("quick"));
        assertTrue(invoker.sandboxPids("slowpoke").stream().noneMatch(p -> p == pidBefore), "the timed-out replica was replaced");
    }

    @Test
    void callsBeyondMaxScaleQueueAndAFullQueueGets429WithRetryAfter() throws Exception {
        deploy("narrow", "maxScale: 1\nmaxQueue: 2\n", """
                import time
                def handle(event, context):
                    time.sleep(1.5)
                    return "done"
                """);
        // 1 runs, 2 wait (its maxQueue), the rest are refused at once.
        List<CompletableFuture<Response>> calls = new ArrayList<>();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(5); // the common pool has 1 thread on 2 cores
        for (int i = 0; i < 5; i++) {
            calls.add(CompletableFuture.supplyAsync(() -> given().get("/fn/narrow"), pool));
            Thread.sleep(100);
        }
        int ok = 0, refused = 0;
        for (var c : calls) {
            Response r = c.get(30, TimeUnit.SECONDS);
            if (r.statusCode() == 200) ok++;
            if (r.statusCode() == 429) {
                refused++;
                assertEquals("1", r.header("Retry-After"));
                assertEquals("queue_full", r.jsonPath().getString("error"));
            }
        }
        assertEquals(3, ok, "one running plus two queued calls finish");
        assertEquals(2, refused);
        assertEquals(1, invoker.sandboxPids("narrow").size(), "never more than maxScale replicas");
    }

    @Test
    void aFunctionThatKeepsCrashingBacksOff() throws Exception {
        given().contentType("application/gzip").body(Functions.pack("crashloop", "", """
                import os
                def handle(event, context):
                    os._exit(1)
                """)).when().put("/v1/functions/crashloop?warm=false").then().statusCode(201);
        given().when().get("/fn/crashloop").then().statusCode(502);
        given().when().get("/fn/crashloop").then().statusCode(502);
        // Two crashes in a row: the next start waits, and callers are told so instead of spinning sandboxes.
        given().when().get("/fn/crashloop").then().statusCode(503)
                .body("error", equalTo("function_crash_loop")).body("message", containsString("times in a row"))
                .header("Retry-After", org.hamcrest.Matchers.notNullValue());
    }

    @Test
    void aFunctionLargerThanTheMemoryThisInvokerOffersIsRefusedAtOnceWithTheReason() throws Exception {
        // 3/4 of the host's memory is offered to replicas (skiff.replica-memory): 1 TiB never fits.
        given().contentType("application/gzip").body(Functions.pack("mammoth", "memory: 1024Gi\n", """
                def handle(event, context):
                    return "never"
                """)).when().put("/v1/functions/mammoth?warm=false").then().statusCode(201);
        long started = System.nanoTime();
        given().when().get("/fn/mammoth").then().statusCode(503)
                .body("error", equalTo("no_room")).body("message", containsString("skiff.replica-memory"));
        org.junit.jupiter.api.Assertions.assertTrue(System.nanoTime() - started < 5_000_000_000L, "refused at once, not after the queue timeout");
        given().when().delete("/v1/functions/mammoth").then().statusCode(204);
    }

    @Test
    void aColdStartWithoutRoomStopsAnIdleReplicaOfAnotherFunctionButNeverABusyOne() throws Exception {
        // Two functions that each take all the memory this invoker offers but 512 MiB: one replica at a time fits.
        long bigMiB = (invoker.memoryFree() >> 20) - 512;
        deploy("filler", "memory: " + bigMiB + "Mi\nconcurrency: 1\n", """
                import time
                def handle(event, context):
                    if event.body == b"slow":
                        time.sleep(4)
                    return "filled"
                """);
        given().contentType("application/gzip").body(Functions.pack("squeezed", "memory: " + bigMiB + "Mi\n", """
                def handle(event, context):
                    return "squeezed in"
                """)).when().put("/v1/functions/squeezed?warm=false").then().statusCode(201);

        // While filler's replica runs a call it stays: squeezed is refused at once, nothing is stopped.
        var slow = java.util.concurrent.CompletableFuture.supplyAsync(() -> given().body("slow").when().post("/fn/filler").then().extract().statusCode());
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (invoker.loads().stream().noneMatch(l -> l.function().equals("filler") && l.inFlight() > 0) && System.nanoTime() < deadline) Thread.sleep(20);
        given().when().get("/fn/squeezed").then().statusCode(503).body("error", equalTo("no_room"));
        assertEquals(1, invoker.replicas("filler"), "a busy replica is not stopped for another function");
        assertEquals(200, (int) slow.get(30, java.util.concurrent.TimeUnit.SECONDS));

        // Just used, it is kept (a function called in bursts keeps its replicas): squeezed is refused.
        given().when().get("/fn/squeezed").then().statusCode(503).body("error", equalTo("no_room"));
        // Idle for 5 s (LocalInvoker.EVICTABLE_AFTER): the next call of squeezed stops it and starts its own replica.
        Thread.sleep(dev.skiff.invoker.LocalInvoker.EVICTABLE_AFTER.toMillis() + 500);
        given().when().get("/fn/squeezed").then().statusCode(200).body(equalTo("squeezed in"));
        assertEquals(0, invoker.replicas("filler"), "filler's idle replica made room");
        assertEquals(1, invoker.replicas("squeezed"));
        given().when().delete("/v1/functions/squeezed").then().statusCode(204);
        given().when().delete("/v1/functions/filler").then().statusCode(204);
    }

    @Test
    void redeployLetsRunningCallsFinishOnTheOldVersion() throws Exception {
        deploy("rolling", "concurrency: 4\n", """
                import time
                def handle(event, context):
                    if event.body == b"slow":
                        time.sleep(1.5)
                    return "v1"
                """);
        CompletableFuture<Response> running = CompletableFuture.supplyAsync(() -> given().body("slow").post("/fn/rolling"),
                java.util.concurrent.Executors.newSingleThreadExecutor());
        Thread.sleep(300);
        given().contentType("application/gzip").body(Functions.pack("rolling", "concurrency: 4\n", "def handle(e, c):\n    return 'v2'\n"))
                .when().put("/v1/functions/rolling").then().statusCode(200);
        given().when().get("/fn/rolling").then().statusCode(200).body(equalTo("v2"));
        Response old = running.get(20, TimeUnit.SECONDS);
        assertEquals(200, old.statusCode(), old.asString());
        assertEquals("v1", old.asString(), "the call that was running finished on the old version");
    }

    @Test
    void aBurstOfFirstCallsNeverExceedsMaxScaleAndAllSucceed() throws Exception {
        given().contentType("application/gzip").body(Functions.pack("burst", "maxScale: 20\n", """
                import time
                def handle(event, context):
                    time.sleep(0.05)
                    return "ok"
                """)).when().put("/v1/functions/burst?warm=false").then().statusCode(201);
        var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
        java.util.concurrent.atomic.AtomicInteger maxSeen = new java.util.concurrent.atomic.AtomicInteger();
        Thread watcher = Thread.ofVirtual().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                maxSeen.accumulateAndGet(invoker.sandboxPids("burst").size(), Math::max);
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        List<CompletableFuture<Integer>> calls = new ArrayList<>();
        var client = java.net.http.HttpClient.newBuilder().executor(pool).build();
        var uri = java.net.URI.create(io.restassured.RestAssured.baseURI + ":" + io.restassured.RestAssured.port + "/fn/burst");
        for (int i = 0; i < 200; i++) {
            calls.add(client.sendAsync(java.net.http.HttpRequest.newBuilder(uri).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).thenApply(java.net.http.HttpResponse::statusCode));
        }
        int ok = 0;
        for (var c : calls) if (c.get(120, TimeUnit.SECONDS) == 200) ok++;
        watcher.interrupt();
        assertEquals(200, ok, "every call of the burst succeeded");
        assertTrue(maxSeen.get() <= 20, "replicas never exceeded maxScale: " + maxSeen.get());
        assertTrue(invoker.sandboxPids("burst").size() <= 20);
    }

    @Test
    void concurrentFirstCallsStartOnlyTheReplicasTheirConcurrencyNeeds() throws Exception {
        // 10 simultaneous first calls, 5 per replica: 2 replicas, not one per call. (A target of
        // 1000 per replica keeps the autoscaler from asking for more than 1 meanwhile.)
        given().contentType("application/gzip").body(Functions.pack("shared", "concurrency: 5\nmaxScale: 20\nscale:\n  target: 1000\n", """
                import time
                def handle(event, context):
                    time.sleep(0.5)
                    return "ok"
                """)).when().put("/v1/functions/shared?warm=false").then().statusCode(201);
        var pool = java.util.concurrent.Executors.newFixedThreadPool(10);
        var start = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<Integer>> calls = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            calls.add(pool.submit(() -> {
                start.await();
                return given().body("x").when().post("/fn/shared").statusCode();
            }));
        }
        start.countDown();
        for (var c : calls) assertEquals(200, c.get(60, TimeUnit.SECONDS));
        pool.shutdown();
        // Counted as cold starts, not as live replicas: the autoscaler (asking for 1) may already
        // have stopped the idle second one.
        String metrics = Metrics.page();
        var coldStarts = java.util.regex.Pattern.compile("(?m)^skiff_cold_start_duration_seconds_count\\{function=\"shared\"} ([0-9.E]+)$")
                .matcher(metrics);
        org.junit.jupiter.api.Assertions.assertTrue(coldStarts.find(), "no cold-start count for shared in /q/metrics");
        assertEquals(2, (int) Double.parseDouble(coldStarts.group(1)), "replicas started for 10 concurrent calls at concurrency 5");
    }

    @Test
    void aReplicaStillStartingWhenItsFunctionIsDeletedIsStoppedNotLeftRunning() throws Exception {
        // Each replica takes 4 s to come up; the deploy waits for the first one.
        deploy("slowstart", "maxScale: 3\n", "import time\ntime.sleep(4)\ndef handle(e, c):\n    return 'up'\n");
        Path sockets = config.stateDir().resolve("sockets");
        assertEquals(1, replicaDirs(sockets, "slowstart-").size());
        invoker.scaleTo("slowstart", 2); // a second one starts in the background
        Thread.sleep(1000);
        given().when().delete("/v1/functions/slowstart").then().statusCode(204);
        // The start in flight ends about 3 s later; before the fix its replica joined the removed
        // function's pool and ran on, with nothing left to stop it.
        long deadline = System.currentTimeMillis() + 15_000;
        List<String> left = replicaDirs(sockets, "slowstart-");
        while (System.currentTimeMillis() < deadline) {
            Thread.sleep(500);
            left = replicaDirs(sockets, "slowstart-");
            if (left.isEmpty() && System.currentTimeMillis() > deadline - 8_000) break; // past the start in flight
        }
        assertEquals(List.of(), left, "replicas of the deleted function still running");
    }

    /** The replicas running on this node, by their socket directories (one per live replica, removed when it stops). */
    static List<String> replicaDirs(Path sockets, String prefix) throws java.io.IOException {
        try (var entries = java.nio.file.Files.list(sockets)) {
            return entries.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix)).sorted().toList();
        }
    }

    @Test
    void minScaleReplicasStayWarmWhenIdle() throws Exception {
        deploy("keepwarm", "minScale: 2\nidleTimeout: 1s\n", "def handle(e, c):\n    return 'warm'\n");
        long deadline = System.currentTimeMillis() + 15_000;
        while (invoker.sandboxPids("keepwarm").size() < 2 && System.currentTimeMillis() < deadline) Thread.sleep(100);
        assertEquals(2, invoker.sandboxPids("keepwarm").size(), "minScale replicas were started without calls");
        Thread.sleep(2500); // past idleTimeout
        assertEquals(2, invoker.sandboxPids("keepwarm").size(), "idle replicas are not reaped below minScale");
    }

    @Test
    void concurrencySamplesShowInFlightQueuedReplicasAndCalls() throws Exception {
        deploy("sampled", "maxScale: 1\n", """
                import time
                def handle(event, context):
                    time.sleep(1)
                    return "ok"
                """);
        invoker.sample(java.time.Instant.now()); // start a fresh window
        var pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        List<CompletableFuture<Response>> calls = new ArrayList<>();
        for (int i = 0; i < 3; i++) calls.add(CompletableFuture.supplyAsync(() -> given().get("/fn/sampled"), pool));
        Thread.sleep(500);
        var sample = invoker.sample(java.time.Instant.now()).stream().filter(x -> x.function().equals("sampled")).findFirst().orElseThrow();
        assertEquals(1, sample.inFlight(), sample.toString());
        assertEquals(2, sample.queued(), sample.toString());
        assertEquals(1, sample.replicas(), sample.toString());
        assertEquals(3, sample.calls(), sample.toString());
        for (var c : calls) assertEquals(200, c.get(30, TimeUnit.SECONDS).statusCode());
        pool.shutdown();
    }
}
