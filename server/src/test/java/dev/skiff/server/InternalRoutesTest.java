package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.fail;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The /internal routes a gateway calls on an invoker (served on the public port when one process
 * has both roles) take only calls that show the cluster key from fn.cluster: without it, anyone
 * could run a function past its token requirement.
 */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class InternalRoutesTest {
    private static final String KEY_HEADER = "X-Skiff-Cluster-Key";

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void onlyCallsWithTheClusterKeyFromKafkaReachAFunctionThroughInternal() throws Exception {
        WalkingSkeletonTest.deploy("inside", Functions.pack("inside", "auth: token\n", """
                def handle(event, context):
                    return "key=" + str(event.headers.get("x-skiff-cluster-key"))
                """), 201);
        String version = String.valueOf(given().when().get("/v1/functions/inside").then().statusCode(200).extract().jsonPath().getInt("version"));
        given().auth().none().when().get("/fn/inside").then().statusCode(401);

        // What an outsider tries: the internal route, no key, a guessed one, an empty one.
        for (String guess : new String[] {null, "A".repeat(43), ""}) {
            var req = given().auth().none().header("X-Skiff-Version", version);
            if (guess != null) req = req.header(KEY_HEADER, guess);
            req.body("x").when().post("/internal/fn/inside").then().statusCode(403)
                    .header("X-Skiff-Invoker-Error", "cluster_key_refused")
                    .body("error", equalTo("cluster_key_refused"))
                    .body("message", containsString("/fn/NAME"));
        }
        var warmUp = given().auth().none().header("X-Skiff-Version", version);
        warmUp.when().post("/internal/warmup/inside").then().statusCode(403).body("error", equalTo("cluster_key_refused"));

        // What a gateway of this cluster does: the key it read from fn.cluster. The function never sees it.
        String key = clusterKey();
        given().auth().none().header("X-Skiff-Version", version).header(KEY_HEADER, key).when().get("/internal/fn/inside")
                .then().statusCode(200).body(equalTo("key=None"));
        given().auth().none().header("X-Skiff-Version", version).header(KEY_HEADER, key).when().post("/internal/warmup/inside")
                .then().statusCode(204);
    }

    /** The first key record on fn.cluster, read as another node would; waits for it to be there. */
    private static String clusterKey() throws InterruptedException {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", LocalKafkaResource.bootstrapServers()),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition("fn.cluster", 0);
            c.assign(List.of(tp));
            long deadline = System.nanoTime() + 30_000_000_000L;
            c.seekToBeginning(List.of(tp));
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    if (r.key() != null && r.key().startsWith("cluster-key/") && r.value() != null) return new String(r.value(), StandardCharsets.UTF_8);
                }
            }
            fail("no cluster key on fn.cluster within 30 s");
            return null;
        }
    }
}
