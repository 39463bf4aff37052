package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** /q/health/live and /q/health/ready say what they mean: ready needs the invoker and Kafka. */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class HealthTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void liveAndReadyWithTheInvokerAndKafkaChecksListed() {
        given().when().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
        given().when().get("/q/health/ready").then().statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", hasItem("invoker"))
                .body("checks.name", hasItem("SmallRye Reactive Messaging - readiness check"));
    }
}
