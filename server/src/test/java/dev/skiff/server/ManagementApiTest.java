package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The management API beyond deploy and call: its OpenAPI document, describe, versions and rollback. */
@QuarkusTest
@io.quarkus.test.common.QuarkusTestResource(FreshDataDir.class)
@io.quarkus.test.common.QuarkusTestResource(LocalKafkaResource.class)
class ManagementApiTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static String handler(String answer) {
        return "def handle(e, c):\n    return '" + answer + "'\n";
    }

    static JsonPath deploy(String name, String answer, int status) throws Exception {
        return WalkingSkeletonTest.deploy(name, Functions.pack(name, "concurrency: 4\n", handler(answer)), status);
    }

    @Test
    void theOpenApiDocumentDescribesTheFunctionsEndpoints() {
        JsonPath doc = given().queryParam("format", "json").when().get("/q/openapi").then().statusCode(200).extract().jsonPath();
        Map<String, Object> paths = doc.getMap("paths");
        for (String path : List.of("/v1/functions", "/v1/functions/{name}", "/v1/functions/{name}/versions", "/v1/functions/{name}/rollback",
                "/v1/functions/{name}/logs", "/fn/{name}")) {
            assertTrue(paths.containsKey(path), path + " in " + paths.keySet());
        }
        assertEquals("Make a stored version current again", doc.getString("paths.'/v1/functions/{name}/rollback'.post.summary"));
        assertTrue(doc.getMap("paths.'/v1/functions/{name}'").containsKey("put"));
    }

    @Test
    void describeShowsVersionStatusReplicasUrlLimitsAndDeployTime() throws Exception {
        deploy("described", "hi", 201);
        given().when().get("/v1/functions/described").then().statusCode(200)
                .body("version", equalTo(1))
                .body("status", equalTo("ready"))
                .body("replicas", equalTo(1))
                .body("$", hasKey("desiredReplicas"))
                .body("url", containsString("/fn/described"))
                .body("deployedAt", notNullValue())
                .body("limits.memoryBytes", equalTo(128 << 20))
                .body("limits.concurrency", equalTo(4))
                .body("limits.minScale", equalTo(0))
                .body("limits.maxScale", equalTo(10))
                .body("limits.timeoutMs", equalTo(30_000));
    }

    @Test
    void rollbackSwitchesCallsToTheOlderVersionWithoutAFailedCall() throws Exception {
        deploy("flip", "one", 201);
        deploy("flip", "two", 200);
        given().when().get("/fn/flip").then().body(equalTo("two"));

        String url = WalkingSkeletonTest.baseUrl() + "/fn/flip";
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger calls = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> afterRollback = new ConcurrentLinkedQueue<>();
        AtomicBoolean rolledBack = new AtomicBoolean();
        List<Thread> clients = new java.util.ArrayList<>();
        try (HttpClient http = HttpClient.newHttpClient()) {
            for (int i = 0; i < 4; i++) {
                clients.add(Thread.ofVirtual().start(() -> {
                    while (running.get()) {
                        try {
                            boolean after = rolledBack.get();
                            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
                            calls.incrementAndGet();
                            if (r.statusCode() != 200) failures.add(r.statusCode() + " " + r.body());
                            else if (after) afterRollback.add(r.body());
                        } catch (Exception e) {
                            failures.add(e.toString());
                        }
                    }
                }));
            }
            Thread.sleep(300);
            JsonPath back = given().contentType("application/json").body("{\"version\": 1}")
                    .when().post("/v1/functions/flip/rollback").then().statusCode(200).extract().jsonPath();
            rolledBack.set(true);
            assertEquals(1, back.getInt("version"));
            Thread.sleep(500);
            running.set(false);
            for (Thread t : clients) t.join();
        }
        assertEquals(List.of(), List.copyOf(failures), "failed calls during the rollback (of " + calls.get() + ")");
        assertTrue(!afterRollback.isEmpty() && afterRollback.stream().allMatch("one"::equals), "after the rollback: " + afterRollback);

        given().when().get("/v1/functions/flip").then().body("version", equalTo(1));
        JsonPath versions = given().when().get("/v1/functions/flip/versions").then().statusCode(200).extract().jsonPath();
        assertEquals(List.of(1, 2), versions.getList("version"));
        assertEquals(List.of(true, false), versions.getList("current"));
        assertTrue(versions.getString("[0].deployedAt") != null);

        // A deploy after a rollback is the next new number.
        assertEquals(3, deploy("flip", "three", 200).getInt("version"));
        given().when().get("/fn/flip").then().body(equalTo("three"));
    }

    @Test
    void rollbackErrorsAreJsonAndChangeNothing() throws Exception {
        deploy("rb-steady", "v1", 201);
        given().contentType("application/json").body("{\"version\": 9}").when().post("/v1/functions/rb-steady/rollback")
                .then().statusCode(404).body("error", equalTo("version_not_found")).body("message", containsString("versions"));
        given().contentType("application/json").body("{\"version\": 1}").when().post("/v1/functions/ghost/rollback")
                .then().statusCode(404).body("error", equalTo("function_not_found"));
        given().when().get("/v1/functions/ghost/versions").then().statusCode(404).body("error", equalTo("function_not_found"));
        for (String body : List.of("{\"version\": ", "{}", "{\"version\": \"one\"}", "{\"version\": 1, \"force\": true}", "[1]")) {
            given().contentType("application/json").body(body).when().post("/v1/functions/rb-steady/rollback")
                    .then().statusCode(400).body("error", notNullValue()).body("message", containsString("{\"version\": N}"));
        }
        given().contentType("text/plain").body("1").when().post("/v1/functions/rb-steady/rollback")
                .then().statusCode(415).body("error", equalTo("unsupported_media_type"));
        given().when().get("/v1/functions/rb-steady").then().body("version", equalTo(1));
    }
}
