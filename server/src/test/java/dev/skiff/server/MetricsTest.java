package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** /q/metrics shows calls by status, durations, cold starts apart from run time, replicas and resource use. */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class MetricsTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void callsColdStartsAndReplicasAreExported() throws Exception {
        byte[] pkg = Functions.pack("metered", "", """
                def handle(event, context):
                    if event.body == b"fail":
                        raise RuntimeError("asked to")
                    return "ok"
                """);
        given().contentType("application/gzip").body(pkg).when().put("/v1/functions/metered?warm=false").then().statusCode(201);
        given().when().get("/fn/metered").then().statusCode(200);
        given().when().get("/fn/metered").then().statusCode(200);
        given().body("fail").when().post("/fn/metered").then().statusCode(500);
        String m = given().when().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(m.contains("skiff_calls_total{function=\"metered\",status=\"200\"} 2.0"), m);
        assertTrue(m.contains("skiff_calls_total{function=\"metered\",status=\"500\"} 1.0"), m);
        assertTrue(m.contains("skiff_cold_start_duration_seconds_count{function=\"metered\"} 1"), m);
        assertTrue(m.contains("skiff_call_duration_seconds_count{function=\"metered\"} 3"), m);
        assertTrue(m.contains("skiff_replicas{function=\"metered\"} 1.0"), m);
        assertTrue(m.contains("skiff_in_flight_calls{function=\"metered\"} 0.0"), m);
        assertTrue(m.contains("skiff_queue_depth{function=\"metered\"} 0.0"), m);
        assertTrue(m.matches("(?s).*skiff_memory_bytes\\{function=\"metered\"} [1-9][0-9.E]*\\n.*"), "memory in use is reported");
    }
}
