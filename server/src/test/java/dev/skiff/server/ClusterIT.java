package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.kafka.LocalKafka;
import io.restassured.path.json.JsonPath;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One gateway and two invoker processes (the packaged server, started as a user would with
 * skiff.role=gateway / invoker) on one real broker. The invokers get the function from the
 * catalog on Kafka, announce themselves, and the gateway routes calls to them; one invoker is
 * killed with SIGKILL under load. A second gateway shares the API tokens (fn.tokens) and the
 * catalog, and takes over the async calls of the first when that one is killed.
 */
class ClusterIT {
    private static Path work;
    private static LocalKafka kafka;
    private static final List<SkiffNode> nodes = new ArrayList<>();
    private static SkiffNode gateway;
    /** A second gateway on the same broker: it shares the function catalog and takes over async calls. */
    private static SkiffNode gateway2;
    private static SkiffNode invokerA;
    private static SkiffNode invokerB;

    @BeforeAll
    static void startCluster() throws Exception {
        RequiresRoot.check();
        assertTrue(Files.exists(SkiffNode.JAR), SkiffNode.JAR + " is built by the package phase, before this test");
        work = Files.createTempDirectory("skiff-cluster-it");
        kafka = LocalKafka.start(work.resolve("broker"), 0);
        gateway = start("gateway", "gateway");
        gateway2 = start("gateway-2", "gateway");
        invokerA = start("invoker-a", "invoker");
        invokerB = start("invoker-b", "invoker");
        // Ready on the gateway means it reaches Kafka and at least one invoker; wait for both.
        awaitTrue(Duration.ofSeconds(90), () -> announced() == 2, "the gateway sees both invokers");
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        for (SkiffNode n : nodes) n.kill();
        if (kafka != null) kafka.close();
    }

    private static SkiffNode start(String name, String role) throws IOException {
        // Invokers offer room for 2 replicas of "spread" (256 MiB) and one of "queued" (128 MiB).
        SkiffNode n = SkiffNode.start(work, name, role, kafka.bootstrapServers(), "skiff.replica-memory=640M");
        nodes.add(n);
        return n;
    }

    private static int announced() {
        return announced(gateway);
    }

    private static int announced(SkiffNode gw) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(gw.url() + "/q/health/ready")).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonPath j = new JsonPath(r.body());
            for (Map<String, Object> check : j.<Map<String, Object>>getList("checks")) {
                if ("invoker".equals(check.get("name"))) return ((Number) ((Map<?, ?>) check.get("data")).get("announced")).intValue();
            }
        } catch (Exception e) {
            // not up yet
        }
        return -1;
    }

    @Test
    void callsSpreadOverBothInvokersAndSurviveOneBeingKilled() throws Exception {
        tokensWorkOnEveryGateway();
        given().baseUri(gateway.url()).auth().oauth2(gateway.token()).contentType("application/gzip")
                .body(Functions.pack("spread", "concurrency: 1\nmaxScale: 3\nmemory: 256Mi\n", """
                        import time
                        def handle(event, context):
                            time.sleep(0.05)
                            return "ok " + event.body.decode()
                        """))
                .when().put("/v1/functions/spread").then().statusCode(201);
        // Async calls go to a function of their own (its own replicas and queues), slow enough that
        // calls are running on the invoker that gets killed.
        given().baseUri(gateway.url()).auth().oauth2(gateway.token()).contentType("application/gzip")
                .body(Functions.pack("queued", "concurrency: 4\nmaxScale: 4\n", """
                        import time
                        def handle(event, context):
                            print("printed " + event.body.decode(), flush=True)
                            time.sleep(0.5)
                            return "done " + event.body.decode()
                        """))
                .when().put("/v1/functions/queued").then().statusCode(201);
        // The invokers copied the functions from the catalog on Kafka.
        for (SkiffNode inv : List.of(invokerA, invokerB)) {
            awaitTrue(Duration.ofSeconds(30), () -> status(inv, "/v1/functions/spread") == 200 && status(inv, "/v1/functions/queued") == 200,
                    inv.name + " has the functions");
        }
        // Only the gateways, which show the cluster key from fn.cluster, get through an invoker's /internal routes.
        given().baseUri(invokerA.url()).header("X-Skiff-Version", "1").when().get("/internal/fn/spread").then().statusCode(403)
                .body("error", org.hamcrest.Matchers.equalTo("cluster_key_refused"));

        // 4 clients at concurrency 1 and maxScale 3: replicas gather on the first invoker until it
        // has no room for another (2 x 256 MiB of its 640M), then the third starts on the other
        // one, and none more anywhere: maxScale counts across the invokers (the 4th client waits
        // for a slot). Either invoker keeps room for a replica of "queued" when the other dies.
        // HTTP/1.1 as curl speaks it: a GET then has no body for sure. (Over HTTP/2 without a
        // Content-Length the body's size is unknown, so a dropped call is not repeated.)
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        Load load = new Load(client, gateway.url() + "/fn/spread", 4);
        load.start();
        awaitTrue(Duration.ofSeconds(60), () -> warm(invokerA) >= 1 && warm(invokerB) >= 1, "both invokers run replicas");
        for (int i = 0; i < 10; i++) {
            int a = warm(invokerA), b = warm(invokerB);
            assertTrue(a + b <= 3, "maxScale 3 across both invokers, but they run " + a + " + " + b);
            Thread.sleep(200);
        }
        awaitTrue(Duration.ofSeconds(30), () -> load.ok.get() > 0, "calls succeed through the gateway (failures: " + load.failures + ")");

        // 120 async calls accepted (202 = on Kafka), then SIGKILL one invoker while they run: its
        // GETs in flight are repeated on the other one (safe to repeat), its async calls fail with
        // 502 and are retried; new calls go to the other within a few seconds; nothing is lost.
        List<String> asyncCalls = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            asyncCalls.add(given().baseUri(gateway.url()).body("a" + i).when().post("/async/fn/queued").then().statusCode(202)
                    .extract().path("callId"));
        }
        // The victim is an invoker running async calls right now (both run the sync function).
        SkiffNode[] victim = new SkiffNode[1];
        awaitTrue(Duration.ofSeconds(60), () -> {
            for (SkiffNode inv : List.of(invokerB, invokerA)) if (warm(inv, "queued") > 0) victim[0] = inv;
            return victim[0] != null;
        }, "an invoker holds replicas of the async function");
        victim[0].process().destroyForcibly();
        long killedAt = System.nanoTime();
        awaitTrue(Duration.ofSeconds(15), () -> announced() == 1, "the killed invoker is out of rotation");
        double outAfter = (System.nanoTime() - killedAt) / 1e9;
        int okAtOut = load.ok.get();
        awaitTrue(Duration.ofSeconds(30), () -> load.ok.get() >= okAtOut + 50, "calls go on on the surviving invoker");
        load.stop();
        assertEquals(Map.of(), load.failures, "no call failed (ok " + load.ok.get() + ", out of rotation after " + outAfter + " s)");
        Map<String, Integer> outcomes = new ConcurrentHashMap<>();
        int retried = 0;
        for (int i = 0; i < asyncCalls.size(); i++) {
            String id = asyncCalls.get(i);
            awaitTrue(Duration.ofSeconds(120), () -> !List.of("queued", "running").contains(callStatus(id)), "async call " + id + " finished");
            JsonPath call = given().baseUri(gateway.url()).when().get("/v1/calls/" + id).then().statusCode(200).extract().jsonPath();
            outcomes.merge(call.getString("status"), 1, Integer::sum);
            assertEquals("done a" + i, call.getString("body"), "call " + id + " ran with its own input");
            if (call.getInt("attempts") > 1) retried++;
        }
        assertEquals(Map.of("succeeded", asyncCalls.size()), outcomes, "every accepted async call succeeded");
        assertTrue(outAfter < 10, "out of rotation within a few seconds, was " + outAfter + " s");
        Files.writeString(work.resolve("result.txt"), "killed " + victim[0].name + ", sync ok " + load.ok.get() + ", out after " + outAfter + " s, async "
                + asyncCalls.size() + " succeeded, " + retried + " of them after a retry\n");

        // Now a gateway: the second one got the functions from the catalog and serves them; 60
        // async calls accepted by the first, which is SIGKILLed at once. The second
        // takes over its partitions of fn.async; every call ends succeeded, read from the second.
        awaitTrue(Duration.ofSeconds(30), () -> announced(gateway2) >= 1, "the second gateway sees the surviving invoker");
        given().baseUri(gateway2.url()).body("via 2").when().post("/fn/queued").then().statusCode(200).body(org.hamcrest.Matchers.equalTo("done via 2"));
        List<String> accepted = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            accepted.add(given().baseUri(gateway.url()).body("g" + i).when().post("/async/fn/queued").then().statusCode(202).extract().path("callId"));
        }
        // Killed right after accepting: its worker holds some of them running and the rest
        // queued on its partitions (60 calls of 0.5 s on 16 slots take ~2 s).
        gateway.process().destroyForcibly();
        for (int i = 0; i < accepted.size(); i++) {
            String id = accepted.get(i);
            awaitTrue(Duration.ofSeconds(120), () -> !List.of("queued", "running").contains(callStatus(gateway2, id)),
                    "async call " + id + " finished after its gateway was killed");
            JsonPath call = given().baseUri(gateway2.url()).when().get("/v1/calls/" + id).then().statusCode(200).extract().jsonPath();
            assertEquals("succeeded", call.getString("status"), "call " + id);
            assertEquals("done g" + i, call.getString("body"), "call " + id + " ran with its own input");
        }
        // What the function printed on the surviving invoker reaches the gateway-only node over
        // fn.logs: its logs API shows every invoker's lines.
        awaitTrue(Duration.ofSeconds(20), () -> {
            String logs = given().baseUri(gateway2.url()).auth().oauth2(gateway2.token()).queryParam("tail", 1000)
                    .when().get("/v1/functions/queued/logs").then().statusCode(200).extract().asString();
            return logs.contains(" printed via 2") && logs.contains(" printed g59");
        }, "the second gateway's logs API shows what the function printed on an invoker");
        Files.writeString(work.resolve("result.txt"), "gateway killed: " + accepted.size() + " async calls succeeded through the other gateway\n",
                java.nio.file.StandardOpenOption.APPEND);
    }

    /**
     * An admin token made on the first gateway works on the second within a few seconds (it
     * learned it from fn.tokens), and once the second revokes it the first refuses it, and takes
     * it out of its tokens.json.
     */
    private void tokensWorkOnEveryGateway() throws Exception {
        JsonPath created = given().baseUri(gateway.url()).auth().oauth2(gateway.token()).contentType("application/json")
                .body(Map.of("name", "shared-admin", "scope", "admin"))
                .when().post("/v1/tokens").then().statusCode(201).extract().jsonPath();
        String token = created.getString("token"), id = created.getString("id");
        long t0 = System.nanoTime();
        awaitTrue(Duration.ofSeconds(10), () -> status(gateway2, "/v1/functions", token) == 200, "gateway 2 accepts a token made on gateway 1");
        double acceptedAfter = (System.nanoTime() - t0) / 1e9;
        assertTrue(given().baseUri(gateway2.url()).auth().oauth2(token).when().get("/v1/tokens").then().statusCode(200)
                .extract().jsonPath().<String>getList("id").contains(id), "gateway 2 lists it");
        awaitTrue(Duration.ofSeconds(10), () -> status(gateway, "/v1/functions", gateway2.token()) == 200, "gateway 2's first token works on gateway 1 too");

        given().baseUri(gateway2.url()).auth().oauth2(gateway2.token()).when().delete("/v1/tokens/" + id).then().statusCode(204);
        assertEquals(401, status(gateway2, "/v1/functions", token), "refused at once where it was revoked");
        long t1 = System.nanoTime();
        awaitTrue(Duration.ofSeconds(10), () -> status(gateway, "/v1/functions", token) == 401, "gateway 1 refuses a token revoked on gateway 2");
        double refusedAfter = (System.nanoTime() - t1) / 1e9;
        assertTrue(!Files.readString(gateway.dir.resolve("data/auth/tokens.json")).contains(id), "gone from gateway 1's tokens.json");
        Files.writeString(work.resolve("tokens.txt"), "token made on gateway 1 accepted by gateway 2 after " + acceptedAfter
                + " s; revoked on gateway 2, refused by gateway 1 after " + refusedAfter + " s\n");
    }

    /** Callers sending GETs in a loop, counting answers by status. */
    static final class Load {
        final AtomicInteger ok = new AtomicInteger();
        final Map<String, Integer> failures = new ConcurrentHashMap<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Thread> threads = new ArrayList<>();

        Load(HttpClient client, String url, int clients) {
            for (int i = 0; i < clients; i++) {
                int me = i;
                threads.add(Thread.ofPlatform().unstarted(() -> {
                    int n = 0;
                    while (running.get()) {
                        try {
                            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url + "?c=" + me + "-" + n++))
                                    .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
                            if (r.statusCode() == 200) ok.incrementAndGet();
                            else failures.merge(r.statusCode() + " " + r.body(), 1, Integer::sum);
                        } catch (Exception e) {
                            failures.merge(e.toString(), 1, Integer::sum);
                        }
                    }
                }));
            }
        }

        void start() {
            threads.forEach(Thread::start);
        }

        void stop() throws InterruptedException {
            running.set(false);
            for (Thread t : threads) t.join();
        }
    }

    private static int warm(SkiffNode inv) {
        return warm(inv, "spread");
    }

    private static int warm(SkiffNode inv, String function) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(inv.url() + "/v1/functions/" + function))
                            .header("Authorization", "Bearer " + inv.token()).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? new JsonPath(r.body()).getInt("replicas") : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    private static String callStatus(String id) {
        return callStatus(gateway, id);
    }

    private static String callStatus(SkiffNode gw, String id) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(gw.url() + "/v1/calls/" + id)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? new JsonPath(r.body()).getString("status") : "unknown " + r.statusCode();
        } catch (Exception e) {
            return "unreachable";
        }
    }

    private static int status(SkiffNode n, String path) {
        return status(n, path, n.token());
    }

    private static int status(SkiffNode n, String path, String token) {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(n.url() + path)).header("Authorization", "Bearer " + token).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    static void awaitTrue(Duration within, Condition c, String what) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (!c.holds()) {
            if (System.nanoTime() > deadline) throw new AssertionError("not within " + within.toSeconds() + " s: " + what + " (logs in " + work + ")");
            Thread.sleep(200);
        }
    }
}
