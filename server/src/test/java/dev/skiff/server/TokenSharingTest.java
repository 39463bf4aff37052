package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The token catalog on one gateway against the real broker, with the test playing another
 * gateway on fn.tokens: its tokens work here (in memory, not in tokens.json), its revocations are
 * refused here, this gateway's own tokens and revocations reach the topic as records without
 * the token, and a revocation elsewhere takes this gateway's own token out of its file.
 */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class TokenSharingTest {
    private static final String TOPIC = "fn.tokens";
    private static final String OTHER = "another-gateway";

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static Path tokensJson() {
        return Path.of(ConfigProvider.getConfig().getValue("skiff.data-dir", String.class), "auth", "tokens.json");
    }

    static String nodeId() throws Exception {
        return Files.readString(Path.of(ConfigProvider.getConfig().getValue("skiff.data-dir", String.class), "node-id")).trim();
    }

    static String newPlaintext() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return "skiff_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    /** Writes to fn.tokens as another gateway would; a null value revokes. */
    static void send(String id, String value) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalKafkaResource.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            ProducerRecord<String, String> r = new ProducerRecord<>(TOPIC, id, value);
            r.headers().add("origin", OTHER.getBytes(StandardCharsets.UTF_8));
            producer.send(r).get(10, TimeUnit.SECONDS);
        }
    }

    /** Every record on fn.tokens so far. */
    static List<ConsumerRecord<String, String>> records() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalKafkaResource.bootstrapServers());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<ConsumerRecord<String, String>> all = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(TOPIC, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (c.position(tp) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) all.add(r);
            }
        }
        return all;
    }

    static ConsumerRecord<String, String> latest(String id) {
        ConsumerRecord<String, String> last = null;
        for (ConsumerRecord<String, String> r : records()) if (id.equals(r.key())) last = r;
        return last;
    }

    static int statusWith(String token) {
        return given().auth().oauth2(token).when().get("/v1/functions").then().extract().statusCode();
    }

    @Test
    void anotherGatewaysTokenWorksHereUntilItIsRevokedThere() throws Exception {
        String plaintext = newPlaintext();
        String id = "tok_0a0b0c0d0e0f";
        send(id, "{\"id\":\"" + id + "\",\"name\":\"elsewhere\",\"scope\":\"admin\",\"createdAt\":\"" + Instant.now()
                + "\",\"sha256\":\"" + sha256(plaintext) + "\"}");
        ClusterIT.awaitTrue(Duration.ofSeconds(10), () -> statusWith(plaintext) == 200, "a token made on another gateway works here");
        given().when().get("/v1/tokens").then().statusCode(200).body("id", hasItem(id));
        assertFalse(Files.readString(tokensJson()).contains(id), "another gateway's token is not written to this node's tokens.json");

        send(id, null);
        ClusterIT.awaitTrue(Duration.ofSeconds(10), () -> statusWith(plaintext) == 401, "revoked there, refused here");
        given().when().get("/v1/tokens").then().statusCode(200).body("id", not(hasItem(id)));
    }

    @Test
    void tokensMadeAndRevokedHereReachTheTopicWithoutTheToken() throws Exception {
        String node = nodeId();
        String token = AuthTest.createToken("shared", "invoke");
        String id = AuthTest.idOf("shared");
        ClusterIT.awaitTrue(Duration.ofSeconds(10), () -> latest(id) != null, "the record is on " + TOPIC);
        ConsumerRecord<String, String> r = latest(id);
        assertEquals(node, new String(r.headers().lastHeader("origin").value(), StandardCharsets.UTF_8));
        assertFalse(r.value().contains(token.substring("skiff_".length())), "the token itself on the topic: " + r.value());
        JsonPath j = new JsonPath(r.value());
        assertEquals(Map.of("id", id, "name", "shared", "scope", "invoke", "sha256", sha256(token)),
                Map.of("id", j.getString("id"), "name", j.getString("name"), "scope", j.getString("scope"), "sha256", j.getString("sha256")));

        given().when().delete("/v1/tokens/" + id).then().statusCode(204);
        ClusterIT.awaitTrue(Duration.ofSeconds(10), () -> latest(id).value() == null, "the revocation is a tombstone on " + TOPIC);
        assertEquals(node, new String(latest(id).headers().lastHeader("origin").value(), StandardCharsets.UTF_8));
    }

    @Test
    void aRevocationElsewhereTakesThisGatewaysOwnTokenOutOfItsFile() throws Exception {
        String token = AuthTest.createToken("revoked-elsewhere", "admin");
        String id = AuthTest.idOf("revoked-elsewhere");
        assertTrue(Files.readString(tokensJson()).contains(id));
        ClusterIT.awaitTrue(Duration.ofSeconds(10), () -> latest(id) != null, "the record is on " + TOPIC);
        send(id, null);
        ClusterIT.awaitTrue(Duration.ofSeconds(10), () -> statusWith(token) == 401, "revoked on another gateway, refused here");
        assertFalse(Files.readString(tokensJson()).contains(id), "still in tokens.json");
        assertNull(latest(id).value());
    }

    @Test
    void revokingAnotherGatewaysTokenHerePublishesTheRevocation() throws Exception {
        String plaintext = newPlaintext();
        String id = "tok_a1a2a3a4a5a6";
        send(id, "{\"id\":\"" + id + "\",\"name\":\"theirs\",\"scope\":\"invoke\",\"createdAt\":\"" + Instant.now()
                + "\",\"sha256\":\"" + sha256(plaintext) + "\"}");
        ClusterIT.awaitTrue(Duration.ofSeconds(10), () -> given().when().get("/v1/tokens").then().extract().jsonPath().getList("id").contains(id),
                "learned");
        given().when().delete("/v1/tokens/" + id).then().statusCode(204);
        given().auth().oauth2(plaintext).when().get("/v1/functions").then().statusCode(401);
        ClusterIT.awaitTrue(Duration.ofSeconds(10), () -> latest(id).value() == null, "the revocation is a tombstone on " + TOPIC);
        assertEquals(nodeId(), new String(latest(id).headers().lastHeader("origin").value(), StandardCharsets.UTF_8));
    }

    @Test
    void changesMadeWhileTheBrokerIsAwayArePublishedWhenItIsBack() throws Exception {
        String theirs = newPlaintext();
        String theirId = "tok_b1b2b3b4b5b6";
        send(theirId, "{\"id\":\"" + theirId + "\",\"name\":\"theirs-away\",\"scope\":\"invoke\",\"createdAt\":\"" + Instant.now()
                + "\",\"sha256\":\"" + sha256(theirs) + "\"}");
        ClusterIT.awaitTrue(Duration.ofSeconds(10), () -> given().when().get("/v1/tokens").then().extract().jsonPath().getList("id").contains(theirId),
                "learned");
        String made;
        LocalKafkaResource.stopBroker();
        try {
            // Tokens work from memory and tokens.json without the broker.
            made = AuthTest.createToken("made-away", "admin");
            assertEquals(200, statusWith(made));
            given().when().delete("/v1/tokens/" + theirId).then().statusCode(204);
            assertEquals(401, statusWith(theirs));
            Thread.sleep(4000); // the publisher fails meanwhile, and must try again
        } finally {
            LocalKafkaResource.startBrokerAgain();
        }
        String madeId = AuthTest.idOf("made-away");
        ClusterIT.awaitTrue(Duration.ofSeconds(60), () -> {
            ConsumerRecord<String, String> m = latest(madeId), t = latest(theirId);
            return m != null && m.value() != null && t != null && t.value() == null;
        }, "the token made and the one revoked while the broker was away are on " + TOPIC);
        assertEquals(401, statusWith(theirs), "still revoked");
        given().when().delete("/v1/tokens/" + madeId).then().statusCode(204);
    }
}
