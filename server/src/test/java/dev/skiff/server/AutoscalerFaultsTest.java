package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.fail;

import dev.skiff.invoker.LocalInvoker;
import dev.skiff.server.scale.AutoscalerRole;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What goes wrong around the autoscaler: junk on the topics, and the autoscaler not deciding. */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class AutoscalerFaultsTest {
    @Inject
    AutoscalerRole autoscaler;

    @Inject
    LocalInvoker invoker;

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static void deploy(String name, String yaml, String query) throws Exception {
        given().contentType("application/gzip").body(Functions.pack(name, yaml, "def handle(e, c):\n    return 'ok'\n"))
                .when().put("/v1/functions/" + name + query).then().statusCode(201);
    }

    static KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalKafkaResource.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "1"), new ByteArraySerializer(), new ByteArraySerializer());
    }

    static ProducerRecord<byte[], byte[]> record(String topic, String key, String value) {
        return new ProducerRecord<>(topic, key == null ? null : key.getBytes(), value == null ? null : value.getBytes());
    }

    @Test
    void malformedAndForeignMessagesAreSkippedAndScalingCarriesOn() throws Exception {
        deploy("steady", "maxScale: 3\n", "");
        autoscaler.pause(); // so that only the decision sent below acts on "steady"
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            sendJunk(producer, "fn.scale");
            // A decision too old to act on: a restarted invoker must not follow it.
            producer.send(record("fn.scale", "steady", decision("steady", 3, Instant.now().minusSeconds(60))));
            producer.flush();

            // The invoker still follows decisions: one asking for 3 replicas of "steady" is carried out.
            producer.send(record("fn.scale", "steady", decision("steady", 3, Instant.now()))).get();
            await(() -> invoker.replicas("steady") == 3, 20, () -> "replicas of steady: " + invoker.replicas("steady"));
            given().when().get("/fn/steady").then().statusCode(200).body(equalTo("ok"));

            // The autoscaler still reads samples: a (made-up) invoker reporting 30 calls in flight
            // makes it ask for steady's maxScale of 3; its own idle invoker alone would not.
            autoscaler.resume();
            sendJunk(producer, "fn.metrics");
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (desired("steady") != 3) {
                if (System.nanoTime() > deadline) fail("the autoscaler did not act on fresh samples; desired " + desired("steady"));
                producer.send(record("fn.metrics", "steady", "{\"invoker\": \"made-up\", \"function\": \"steady\", \"at\": \""
                        + Instant.now() + "\", \"inFlight\": 30, \"queued\": 0, \"replicas\": 1, \"calls\": 30}"));
                Thread.sleep(200);
            }
        } finally {
            autoscaler.resume();
        }
    }

    @Test
    void withoutTheAutoscalerCallsStillColdStartOnDemand() throws Exception {
        autoscaler.pause();
        try {
            deploy("unscaled", "concurrency: 2\n", "?warm=false");
            given().when().get("/fn/unscaled").then().statusCode(200).body(equalTo("ok"));
            given().when().get("/fn/unscaled").then().statusCode(200).body(equalTo("ok"));
        } finally {
            autoscaler.resume();
        }
    }

    /** Records that are not Skiff's: not JSON, empty, the wrong shape, bad values, someone else's events, bytes. */
    static void sendJunk(KafkaProducer<byte[], byte[]> producer, String topic) {
        producer.send(record(topic, "steady", "not json at all"));
        producer.send(record(topic, "steady", null));
        producer.send(record(topic, null, "{}"));
        producer.send(record(topic, "steady", "[1, 2, 3]"));
        producer.send(record(topic, "steady", "{\"function\": \"steady\", \"desired\": -4, \"at\": \"" + Instant.now() + "\"}"));
        producer.send(record(topic, "steady", "{\"invoker\": \"x\", \"function\": \"steady\", \"at\": \"yesterday\"}"));
        producer.send(record(topic, "other", "{\"schema\": \"someone else's event\", \"payload\": {\"id\": 7}}"));
        producer.send(new ProducerRecord<>(topic, new byte[] {(byte) 0xff, 0, 1}, new byte[] {(byte) 0xc3, 0x28, 0, (byte) 0xff}));
        producer.flush();
    }

    @Test
    void aBrokerRestartIsRiddenOutAndEveryRoleReconnects() throws Exception {
        deploy("survivor", "maxScale: 3\nscale:\n  stableWindow: 6s\n  scaleToZeroGrace: 1s\n", "");
        LocalKafkaResource.stopBroker();
        try {
            // Calls do not need the broker.
            for (int i = 0; i < 3; i++) given().when().get("/fn/survivor").then().statusCode(200).body(equalTo("ok"));
            Thread.sleep(3000); // samples and decisions fail meanwhile, and must not stop their channels
        } finally {
            LocalKafkaResource.startBrokerAgain();
        }
        // Samples reach the autoscaler again (fn.metrics, both ends), its decisions reach the
        // invoker again (fn.scale, both ends): 30 calls waiting reported by a made-up second
        // invoker (which runs no replica) make the autoscaler ask for survivor's maxScale of 3,
        // all of them added where the function runs: here.
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (invoker.replicas("survivor") < 3) {
                if (System.nanoTime() > deadline) {
                    fail("no scaling after the broker restart: desired " + desired("survivor") + ", replicas " + invoker.replicas("survivor"));
                }
                producer.send(record("fn.metrics", "survivor", "{\"invoker\": \"made-up\", \"function\": \"survivor\", \"at\": \""
                        + Instant.now() + "\", \"inFlight\": 0, \"queued\": 30, \"replicas\": 0, \"calls\": 30}"));
                Thread.sleep(200);
            }
        }
        given().when().get("/fn/survivor").then().statusCode(200).body(equalTo("ok"));
    }

    @Test
    void eachInvokerGetsItsOwnTargetAndOneThatFallsSilentAgesOutWithinSeconds() throws Exception {
        // A made-up second invoker runs 3 replicas of "ageing" and reports 30 calls: the
        // autoscaler asks for maxScale (4) in all. Replicas stay where they are: 3 there, and this
        // invoker keeps its 1 (maxScale counts across invokers; it does not start 4 of its own).
        // When the made-up one falls silent, the decisions name this invoker alone (within
        // sampleMaxAge, 3 s), and it runs all 4.
        deploy("ageing", "maxScale: 4\n", "");
        try (KafkaProducer<byte[], byte[]> producer = producer();
                var decisions = new org.apache.kafka.clients.consumer.KafkaConsumer<String, String>(Map.of(
                        "bootstrap.servers", LocalKafkaResource.bootstrapServers(), "group.id", "ageing-test-" + System.nanoTime(),
                        "auto.offset.reset", "latest"),
                        new org.apache.kafka.common.serialization.StringDeserializer(), new org.apache.kafka.common.serialization.StringDeserializer())) {
            decisions.subscribe(java.util.List.of("fn.scale"));
            long deadline = System.nanoTime() + 30_000_000_000L;
            Map<String, Integer> targets = Map.of();
            while (targets.size() != 2 || targets.get("falls-silent") != 3) {
                if (System.nanoTime() > deadline) fail("no decision naming both invokers: " + targets + ", desired " + desired("ageing"));
                producer.send(record("fn.metrics", "ageing", "{\"invoker\": \"falls-silent\", \"function\": \"ageing\", \"at\": \""
                        + Instant.now() + "\", \"inFlight\": 30, \"queued\": 0, \"replicas\": 3, \"calls\": 30}"));
                targets = lastTargets(decisions, "ageing");
            }
            String self = invoker.invokerId();
            org.junit.jupiter.api.Assertions.assertEquals(Map.of("falls-silent", 3, self, 1), targets, "replicas stay where they are");
            Thread.sleep(1000);
            org.junit.jupiter.api.Assertions.assertEquals(1, invoker.replicas("ageing"), "this invoker runs its target, not maxScale");
            long silentSince = System.nanoTime();
            while (!lastTargets(decisions, "ageing").keySet().equals(java.util.Set.of(self))) {
                if (System.nanoTime() - silentSince > 8_000_000_000L) fail("the silent invoker still named after 8 s");
            }
            double agedOutAfter = (System.nanoTime() - silentSince) / 1e9;
            org.junit.jupiter.api.Assertions.assertTrue(agedOutAfter < 6, "aged out after " + agedOutAfter + " s");
            await(() -> invoker.replicas("ageing") == 4, 20, () -> "replicas of ageing: " + invoker.replicas("ageing"));
        }
    }

    @Test
    void aTriggersBacklogScalesItsFunctionUpToWhatItsCallsCanFill() throws Exception {
        // No calls at all, one replica: a trigger reporting 500 records waiting (100 per replica
        // wanted), with 3 records in flight at most, asks for 3 replicas of concurrency 1: not 5
        // (its calls could not fill them), not maxScale.
        deploy("backlogged", "maxScale: 6\n", "");
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (invoker.replicas("backlogged") < 3) {
                if (System.nanoTime() > deadline) fail("no scale-up for the backlog: desired " + desired("backlogged") + ", replicas " + invoker.replicas("backlogged"));
                producer.send(record("fn.metrics", "backlogged", "{\"kind\": \"backlog\", \"source\": \"node/orders\", \"function\": \"backlogged\","
                        + " \"at\": \"" + Instant.now() + "\", \"lag\": 500, \"lagThreshold\": 100, \"maxInFlight\": 3}"));
                Thread.sleep(200);
            }
            Thread.sleep(2000);
            org.junit.jupiter.api.Assertions.assertEquals(3, invoker.replicas("backlogged"), "3 replicas: what 3 records in flight can fill");
            org.junit.jupiter.api.Assertions.assertEquals(3, desired("backlogged"));
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private static final Map<String, Map<String, Integer>> lastSeenTargets = new java.util.concurrent.ConcurrentHashMap<>();

    /** Polls fn.scale once (up to 300 ms); the targets of the newest decision for the function seen so far. */
    static Map<String, Integer> lastTargets(org.apache.kafka.clients.consumer.KafkaConsumer<String, String> consumer, String function) throws Exception {
        for (var r : consumer.poll(java.time.Duration.ofMillis(300))) {
            if (!function.equals(r.key()) || r.value() == null) continue;
            Map<String, Integer> targets = new java.util.HashMap<>();
            JSON.readTree(r.value()).path("targets").properties().forEach(e -> targets.put(e.getKey(), e.getValue().asInt()));
            lastSeenTargets.put(function, targets);
        }
        return lastSeenTargets.getOrDefault(function, Map.of());
    }

    static String decision(String function, int desired, Instant at) {
        return "{\"function\": \"" + function + "\", \"desired\": " + desired + ", \"panicking\": false, \"stableConcurrency\": 0,"
                + " \"panicConcurrency\": 0, \"at\": \"" + at + "\", \"reason\": \"test\"}";
    }

    static long desired(String function) {
        String m = Metrics.page();
        Matcher matcher = Pattern.compile("(?m)^skiff_desired_replicas\\{function=\"" + function + "\"} ([0-9.E]+)$").matcher(m);
        return matcher.find() ? (long) Double.parseDouble(matcher.group(1)) : -1;
    }

    static void await(BooleanSupplier condition, int seconds, java.util.function.Supplier<String> state) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("not within " + seconds + " s: " + state.get());
            Thread.sleep(100);
        }
    }
}
