package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.oneOf;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.emptyOrNullString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpServer;
import dev.skiff.server.async.AsyncWorker;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Async calls end to end: POST /async/fn/… answers 202 once fn.async has the call, a worker runs
 * it, /v1/calls/{id} tells the outcome; 5xx are retried, then dead-lettered; callbacks; no call
 * lost when the worker stops mid-way; 503 when the broker is down. Test backoffs are short
 * (application.properties, %test.skiff.async.*).
 */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class AsyncInvocationTest {
    static final Set<String> FINAL = Set.of("succeeded", "failed", "dead");
    static final String ECHO = """
            def handle(event, context):
                return "%s %s x=%s test=%s fwd=%s attempt=%s body=%s" % (event.method, event.path, event.query.get("x"),
                    event.headers.get("x-test"), bool(event.headers.get("x-forwarded-for")),
                    event.headers.get("x-skiff-attempt"), event.body.decode())
            """;

    @Inject
    AsyncWorker worker;

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static String enqueue(String name, String body) {
        return given().body(body).when().post("/async/fn/" + name).then().statusCode(202).extract().header("X-Call-Id");
    }

    static JsonPath awaitFinal(String callId, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        String last = "";
        while (System.nanoTime() < deadline) {
            Response r = given().when().get("/v1/calls/" + callId);
            last = r.asString();
            if (r.statusCode() == 200 && FINAL.contains(r.jsonPath().getString("status"))) return r.jsonPath();
            Thread.sleep(200);
        }
        fail("call " + callId + " not final within " + seconds + " s; last: " + last);
        return null;
    }

    @Test
    void anAcceptedCallAnswers202AtOnceAndItsResultIsKept() throws Exception {
        Functions.deploy("async-echo", "", ECHO);
        ExtractableResponse<Response> accepted = given().body("hi").header("X-Test", "t1")
                .when().post("/async/fn/async-echo/sub/path?x=1")
                .then().statusCode(202).contentType("application/json").body("status", equalTo("queued")).extract();
        String id = accepted.header("X-Call-Id");
        assertNotNull(id);
        assertEquals("/v1/calls/" + id, accepted.header("Location"));
        assertEquals(id, accepted.path("callId"));
        assertEquals("/v1/calls/" + id, accepted.path("statusUrl"));
        // Right after the 202 the call is known (never 404), whatever step it is at.
        given().when().get("/v1/calls/" + id).then().statusCode(200)
                .body("callId", equalTo(id)).body("function", equalTo("async-echo"))
                .body("status", oneOf("queued", "running", "succeeded"));

        JsonPath done = awaitFinal(id, 60);
        assertEquals("succeeded", done.getString("status"));
        assertEquals(1, done.getInt("attempts"));
        assertEquals(200, done.getInt("statusCode"));
        assertEquals("utf-8", done.getString("bodyEncoding"));
        assertEquals("POST /sub/path x=1 test=t1 fwd=True attempt=1 body=hi", done.getString("body"));

        // Another method is recorded and passed on as it came.
        String put = given().body("p").when().put("/async/fn/async-echo").then().statusCode(202).extract().header("X-Call-Id");
        assertEquals("PUT / x=None test=None fwd=True attempt=1 body=p", awaitFinal(put, 60).getString("body"));

        Metrics.awaitLine("skiff_async_accepted_total\\{function=\"async-echo\"} [1-9].*");
        Metrics.awaitLine("skiff_async_calls_total\\{function=\"async-echo\",outcome=\"succeeded\"} [1-9].*");
    }

    @Test
    void theLargestBodyAllowedGoesThroughTheQueue() throws Exception {
        Functions.deploy("async-size", "memory: 256Mi\n", "def handle(e, c):\n    return str(len(e.body))\n");
        long max = ConfigProvider.getConfig().getValue("skiff.max-body-bytes", Long.class);
        String id = given().body(new byte[(int) max]).when().post("/async/fn/async-size").then().statusCode(202).extract().header("X-Call-Id");
        JsonPath done = awaitFinal(id, 90);
        assertEquals("succeeded", done.getString("status"));
        assertEquals(Long.toString(max), done.getString("body"));
    }

    @Test
    void badRequestsAreRefusedWithJsonErrors() throws Exception {
        Functions.deploy("async-refuse", "", "def handle(e, c):\n    return 'ok'\n");
        given().body("x").when().post("/async/fn/no-such-function").then().statusCode(404)
                .contentType("application/json").body("error", equalTo("function_not_found")).body("message", not(emptyOrNullString()));
        for (String bad : List.of("/relative/path", "ftp://example.com/hook", "not a url", "http:///no-host")) {
            given().body("x").header("X-Callback-Url", bad).when().post("/async/fn/async-refuse").then().statusCode(400)
                    .contentType("application/json").body("error", equalTo("bad_callback_url")).body("message", not(emptyOrNullString()));
        }
        long max = ConfigProvider.getConfig().getValue("skiff.max-body-bytes", Long.class);
        given().body(new byte[(int) max + 1]).when().post("/async/fn/async-refuse").then().statusCode(413)
                .contentType("application/json").body("error", equalTo("body_too_large"));
        // Without Content-Length (chunked) the limit holds as the body comes.
        byte[] big = new byte[(int) max + 4096];
        HttpResponse<String> chunked = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri("/async/fn/async-refuse"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(413, chunked.statusCode(), chunked.body());
        assertTrue(chunked.body().contains("body_too_large"), chunked.body());
        given().when().get("/v1/calls/no-such-call").then().statusCode(404)
                .contentType("application/json").body("error", equalTo("call_not_found"));
    }

    @Test
    void serverErrorsAreRetriedUntilTheFunctionSucceeds() throws Exception {
        // One replica (maxScale 1), so the module-level counter sees every attempt.
        Functions.deploy("async-flaky", "maxScale: 1\n", """
                calls = 0
                def handle(event, context):
                    global calls
                    calls += 1
                    if calls <= 2:
                        return {"statusCode": 500, "body": "not yet %d" % calls}
                    return "third time, attempt " + event.headers.get("x-skiff-attempt")
                """);
        String id = enqueue("async-flaky", "");
        JsonPath done = awaitFinal(id, 90);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        assertEquals(3, done.getInt("attempts"));
        assertEquals("third time, attempt 3", done.getString("body"));
    }

    @Test
    void aCrashedAttemptIsRetried() throws Exception {
        Functions.deploy("async-crash", "", """
                import os
                def handle(event, context):
                    if event.headers.get("x-skiff-attempt") == "1":
                        os._exit(3)
                    return "survived attempt " + event.headers.get("x-skiff-attempt")
                """);
        JsonPath done = awaitFinal(enqueue("async-crash", ""), 90);
        assertEquals("succeeded", done.getString("status"), done.prettify());
        assertEquals(2, done.getInt("attempts"));
        assertEquals("survived attempt 2", done.getString("body"));
    }

    @Test
    void aClientErrorIsFinalAtOnce() throws Exception {
        Functions.deploy("async-refuses", "", "def handle(e, c):\n    return {'statusCode': 422, 'body': 'bad input'}\n");
        JsonPath done = awaitFinal(enqueue("async-refuses", ""), 60);
        assertEquals("failed", done.getString("status"));
        assertEquals(1, done.getInt("attempts"));
        assertEquals(422, done.getInt("statusCode"));
        assertEquals("bad input", done.getString("body"));
    }

    @Test
    void aCallThatKeepsFailingGoesToTheDeadLetterTopicWithTheReason() throws Exception {
        Functions.deploy("async-broken", "", "def handle(e, c):\n    return {'statusCode': 500, 'body': 'always broken'}\n");
        String id = enqueue("async-broken", "payload");
        JsonPath done = awaitFinal(id, 120);
        assertEquals("dead", done.getString("status"), done.prettify());
        assertEquals(5, done.getInt("attempts"));
        assertEquals(500, done.getInt("statusCode"));
        assertEquals("always broken", done.getString("body"));

        ConsumerRecord<String, byte[]> letter = deadLetter(id, 30);
        assertEquals("payload", new String(letter.value(), StandardCharsets.UTF_8));
        assertTrue(header(letter, "skiff-dlq-reason").contains("retries exhausted"), header(letter, "skiff-dlq-reason"));
        assertEquals("500", header(letter, "skiff-dlq-last-status"));
        assertEquals("5", header(letter, "skiff-dlq-attempts"));
        assertEquals("fn.async", header(letter, "skiff-dlq-original-topic"));
        assertTrue(header(letter, "skiff-dlq-original-offset").matches("\\d+"));
        assertTrue(header(letter, "skiff-call").contains("\"function\":\"async-broken\""), header(letter, "skiff-call"));
    }

    static ConsumerRecord<String, byte[]> deadLetter(String callId, int seconds) {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", LocalKafkaResource.bootstrapServers(),
                "group.id", "dlq-test-" + System.nanoTime(), "auto.offset.reset", "earliest"),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of("fn.async.dlq"));
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) if (callId.equals(r.key())) return r;
            }
        }
        fail("no dead letter for " + callId + " on fn.async.dlq within " + seconds + " s");
        return null;
    }

    static String header(ConsumerRecord<String, byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        assertNotNull(h, "header " + name);
        return new String(h.value(), StandardCharsets.UTF_8);
    }

    record Delivery(Map<String, List<String>> headers, String body) {
        String first(String name) {
            List<String> v = headers.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }
    }

    @Test
    void theOutcomeIsPostedToTheCallbackUrlAndAFailingCallbackIsRetriedWithoutRerunningTheFunction() throws Exception {
        Functions.deploy("async-cb", "", """
                runs = 0
                def handle(event, context):
                    global runs
                    runs += 1
                    return {"statusCode": 201, "headers": {"Content-Type": "text/plain"}, "body": "made it, run %d" % runs}
                """);
        BlockingQueue<Delivery> deliveries = new LinkedBlockingQueue<>();
        AtomicInteger hits = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hook", ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            deliveries.add(new Delivery(Map.copyOf(ex.getRequestHeaders()), new String(body, StandardCharsets.UTF_8)));
            // The first delivery fails: the sender must try again, and not run the function again.
            ex.sendResponseHeaders(hits.incrementAndGet() == 1 ? 503 : 204, -1);
            ex.close();
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
            String id = given().body("x").header("X-Callback-Url", url).when().post("/async/fn/async-cb")
                    .then().statusCode(202).extract().header("X-Call-Id");
            Delivery first = deliveries.poll(90, TimeUnit.SECONDS);
            assertNotNull(first, "no callback within 90 s");
            Delivery second = deliveries.poll(30, TimeUnit.SECONDS);
            assertNotNull(second, "the failed callback was not delivered again");
            for (Delivery d : List.of(first, second)) {
                assertEquals(id, d.first("X-call-id"));
                assertEquals("succeeded", d.first("X-skiff-call-status"));
                assertEquals("201", d.first("X-skiff-function-status"));
                assertEquals("text/plain", d.first("Content-type"));
                assertEquals("made it, run 1", d.body());
            }
            Thread.sleep(1000);
            assertEquals(2, hits.get(), "delivered once it succeeded, no more");
            JsonPath done = awaitFinal(id, 10);
            assertEquals(1, done.getInt("attempts"));
            assertEquals("made it, run 1", done.getString("body"));
            // A dead call calls back too, with the last status.
            Functions.deploy("async-cb-dead", "", "def handle(e, c):\n    return {'statusCode': 503, 'body': 'down'}\n");
            String dead = given().body("x").header("X-Callback-Url", url).when().post("/async/fn/async-cb-dead")
                    .then().statusCode(202).extract().header("X-Call-Id");
            Delivery d = deliveries.poll(120, TimeUnit.SECONDS);
            assertNotNull(d, "no callback for the dead call");
            assertEquals(dead, d.first("X-call-id"));
            assertEquals("dead", d.first("X-skiff-call-status"));
            assertEquals("503", d.first("X-skiff-function-status"));
            assertEquals("down", d.body());
        } finally {
            server.stop(0);
        }
    }

    @Test
    void noAcceptedCallIsLostWhenTheWorkerStopsMidWay() throws Exception {
        // 8 at a time (concurrency 4 x 2 replicas, and %test.skiff.async.concurrency=8): 50 calls
        // of 3 s take about 19 s, so the stop below finds calls done, running and not started.
        Functions.deploy("async-slow", "concurrency: 4\nmaxScale: 2\n", "import time\ndef handle(e, c):\n    time.sleep(3)\n    return e.body\n");
        List<String> ids;
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(10)) {
            List<java.util.concurrent.Future<String>> accepted = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                String body = "n" + i;
                accepted.add(pool.submit(() -> enqueue("async-slow", body)));
            }
            ids = new ArrayList<>();
            for (var f : accepted) ids.add(f.get());
        }
        long start = System.nanoTime();
        while (!anyFinal(ids)) {
            if (System.nanoTime() - start > 90_000_000_000L) fail("no call finished within 90 s");
            Thread.sleep(50);
        }
        worker.stop(Duration.ZERO);
        System.out.printf("worker stopped %.1f s after the calls were accepted, %d of %d final%n",
                (System.nanoTime() - start) / 1e9, finalCount(ids), ids.size());
        try {
            Thread.sleep(5000); // the calls that were running finish; nothing else may run now
            int whileStopped = finalCount(ids);
            assertTrue(whileStopped < ids.size(), "all calls finished although the worker was stopped: the test proves nothing");
            Thread.sleep(1000);
            assertEquals(whileStopped, finalCount(ids), "calls went on while the worker was stopped");
        } finally {
            worker.start();
        }
        for (int i = 0; i < ids.size(); i++) {
            JsonPath done = awaitFinal(ids.get(i), 120);
            assertEquals("succeeded", done.getString("status"));
            assertEquals("n" + i, done.getString("body"));
        }
    }

    @Test
    void callsOfPartitionsThatMoveToAnotherWorkerAreNotLost() throws Exception {
        // A second member of the group takes some partitions and dies holding them (reads, runs
        // nothing, commits nothing, leaves): what this worker had running there must not be
        // committed on revocation, and what the dead member read must come back.
        Functions.deploy("async-moved", "concurrency: 4\nmaxScale: 2\n", "import time\ndef handle(e, c):\n    time.sleep(2)\n    return e.body\n");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 30; i++) ids.add(enqueue("async-moved", "m" + i));
        long start = System.nanoTime();
        while (!anyFinal(ids)) {
            if (System.nanoTime() - start > 90_000_000_000L) fail("no call finished within 90 s");
            Thread.sleep(50);
        }
        int taken = 0;
        try (KafkaConsumer<String, byte[]> intruder = new KafkaConsumer<>(Map.of("bootstrap.servers", LocalKafkaResource.bootstrapServers(),
                "group.id", "skiff-async", "enable.auto.commit", "false", "auto.offset.reset", "earliest",
                "partition.assignment.strategy", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            intruder.subscribe(List.of("fn.async"));
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (intruder.assignment().isEmpty() && System.nanoTime() < deadline) taken += intruder.poll(Duration.ofMillis(200)).count();
            assertTrue(!intruder.assignment().isEmpty(), "the second member got no partitions within 60 s");
            long hold = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < hold) taken += intruder.poll(Duration.ofMillis(200)).count();
            System.out.printf("the second member held %s and read %d records%n", intruder.assignment(), taken);
        }
        // Records it read were not committed as done when they moved: they have to run again here.
        assertTrue(taken > 0, "the second member read no call: the calls in flight on its partitions were committed as they moved (lost), or none were in flight");
        for (int i = 0; i < ids.size(); i++) {
            JsonPath done = awaitFinal(ids.get(i), 120);
            assertEquals("succeeded", done.getString("status"));
            assertEquals("m" + i, done.getString("body"));
        }
    }

    static boolean anyFinal(List<String> ids) {
        for (String id : ids) {
            Response r = given().when().get("/v1/calls/" + id);
            if (r.statusCode() == 200 && FINAL.contains(r.jsonPath().getString("status"))) return true;
        }
        return false;
    }

    static int finalCount(List<String> ids) {
        int n = 0;
        for (String id : ids) {
            Response r = given().when().get("/v1/calls/" + id);
            if (r.statusCode() == 200 && FINAL.contains(r.jsonPath().getString("status"))) n++;
        }
        return n;
    }

    @Test
    void withTheBrokerDownACallIsRefusedWith503AndNothingIsClaimed() throws Exception {
        Functions.deploy("async-down", "", "def handle(e, c):\n    return 'up ' + e.body.decode()\n");
        String before = enqueue("async-down", "before");
        awaitFinal(before, 60);
        LocalKafkaResource.stopBroker();
        try {
            long t0 = System.nanoTime();
            given().body("x").when().post("/async/fn/async-down").then().statusCode(503)
                    .header("Retry-After", not(emptyOrNullString())).header("X-Call-Id", not(emptyOrNullString()))
                    .contentType("application/json").body("error", equalTo("queue_unavailable"));
            assertTrue(System.nanoTime() - t0 < 30_000_000_000L, "the 503 took over 30 s");
            // Results already known are still answered from memory.
            given().when().get("/v1/calls/" + before).then().statusCode(200).body("status", is("succeeded"));
        } finally {
            LocalKafkaResource.startBrokerAgain();
        }
        // Back: calls are accepted and run again.
        long deadline = System.nanoTime() + 90_000_000_000L;
        String after = null;
        while (after == null) {
            Response r = given().body("after").when().post("/async/fn/async-down");
            if (r.statusCode() == 202) after = r.header("X-Call-Id");
            else if (System.nanoTime() > deadline) fail("not accepted 90 s after the broker came back: " + r.statusCode() + " " + r.asString());
            else Thread.sleep(500);
        }
        JsonPath done = awaitFinal(after, 120);
        assertEquals("up after", done.getString("body"));
    }

    static URI uri(String path) {
        return URI.create(io.restassured.RestAssured.baseURI + ":" + io.restassured.RestAssured.port + path);
    }
}
