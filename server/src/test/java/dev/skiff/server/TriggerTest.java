package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.skiff.server.trigger.TriggerManager;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Kafka triggers end to end, on the real broker and real sandboxes: records become calls with
 * the Kafka and CloudEvents headers, results and dead letters are written before the offset is
 * committed, key order holds with calls in parallel, a dead-letter topic that refuses holds the
 * commit back, deleting a function stops its consumer, one failing function does not stall
 * another, and exactly-once results survive an aborted transaction.
 */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class TriggerTest {
    /** Short waits between attempts: a test should not sit out production backoffs. */
    static final String FAST_RETRY = "retry: {maxAttempts: 3, backoff: 50ms, maxBackoff: 200ms}";

    @Inject
    TriggerManager triggers;

    private static Admin admin;
    private static KafkaProducer<byte[], byte[]> producer;

    @BeforeAll
    static void setUp() {
        RequiresRoot.check();
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, LocalKafkaResource.bootstrapServers());
        admin = Admin.create(p);
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalKafkaResource.bootstrapServers());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @AfterAll
    static void tearDown() {
        if (producer != null) producer.close();
        if (admin != null) admin.close();
    }

    // ---- helpers -----------------------------------------------------------------------------

    static void createTopic(String name, int partitions, Map<String, String> configs) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs))).all().get(30, TimeUnit.SECONDS);
    }

    static void setTopicConfig(String topic, String key, String value) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        admin.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(new ConfigEntry(key, value), AlterConfigOp.OpType.SET))))
                .all().get(30, TimeUnit.SECONDS);
    }

    static void produce(String topic, String key, String value, Map<String, String> headers) throws Exception {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, key == null ? null : utf8(key), utf8(value));
        headers.forEach((k, v) -> r.headers().add(k, utf8(v)));
        producer.send(r).get(30, TimeUnit.SECONDS);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    static Map<String, String> headers(ConsumerRecord<byte[], byte[]> r) {
        Map<String, String> h = new HashMap<>();
        for (Header x : r.headers()) h.put(x.key(), text(x.value()));
        return h;
    }

    /** Reads a topic from the start until {@code count} records came (or the time is up), in each partition's order. */
    static List<ConsumerRecord<byte[], byte[]>> read(String topic, int count, Duration within, boolean committedOnly) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalKafkaResource.bootstrapServers());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, committedOnly ? "read_committed" : "read_uncommitted");
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            long deadline = System.nanoTime() + within.toNanos();
            List<TopicPartition> parts = List.of();
            while (parts.isEmpty() && System.nanoTime() < deadline) { // the trigger may not have created it yet
                parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
                if (parts.isEmpty()) sleepQuietly(200);
            }
            if (parts.isEmpty()) return out;
            c.assign(parts);
            c.seekToBeginning(parts);
            while (out.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) out.add(r);
            }
        }
        return out;
    }

    static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static long committed(String group, TopicPartition tp) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        OffsetAndMetadata o = m.get(tp);
        return o == null ? -1 : o.offset();
    }

    static void await(String what, Duration within, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) return;
            Thread.sleep(200);
        }
        fail("not within " + within.toSeconds() + " s: " + what);
    }

    static long committedQuietly(String group, TopicPartition tp) {
        try {
            return committed(group, tp);
        } catch (Exception e) {
            return -2;
        }
    }

    // ---- tests -------------------------------------------------------------------------------

    @Test
    void recordsBecomeCallsWithKafkaAndCloudEventsHeadersAndTheResponsesAreKept() throws Exception {
        createTopic("trig-in", 1, Map.of());
        Functions.deploy("trig-echo", """
                triggers:
                  - topic: trig-in
                    startFrom: earliest
                    path: /hook
                    resultTopic: trig-in.out
                """, """
                def handle(event, context):
                    h = event.headers
                    names = ["x-kafka-topic", "x-kafka-partition", "x-kafka-offset", "x-kafka-timestamp", "x-kafka-key",
                             "ce-id", "ce-type", "content-type", "x-kafka-header-tenant", "x-call-id"]
                    seen = {n: h.get(n) for n in names}
                    seen["method"] = event.method
                    seen["path"] = event.path
                    seen["body"] = event.body.decode()
                    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": seen}
                """);
        produce("trig-in", "k-1", "hello", Map.of("ce_id", "evt-1", "ce_type", "com.example.order", "content-type", "text/plain",
                "tenant", "acme"));
        List<ConsumerRecord<byte[], byte[]>> out = read("trig-in.out", 1, Duration.ofSeconds(90), false);
        assertEquals(1, out.size(), "no result on trig-in.out");
        ConsumerRecord<byte[], byte[]> result = out.get(0);
        JsonPath seen = new JsonPath(text(result.value()));
        assertEquals("POST", seen.getString("method"));
        assertEquals("/hook", seen.getString("path"));
        assertEquals("hello", seen.getString("body"));
        assertEquals("trig-in", seen.getString("x-kafka-topic"));
        assertEquals("0", seen.getString("x-kafka-partition"));
        assertEquals("0", seen.getString("x-kafka-offset"));
        assertTrue(Long.parseLong(seen.getString("x-kafka-timestamp")) > 1_600_000_000_000L, seen.prettify());
        assertEquals("k-1", seen.getString("x-kafka-key"));
        assertEquals("evt-1", seen.getString("ce-id"));
        assertEquals("com.example.order", seen.getString("ce-type"));
        assertEquals("text/plain", seen.getString("content-type"));
        assertEquals("acme", seen.getString("x-kafka-header-tenant"));
        String callId = seen.getString("x-call-id");
        assertNotNull(callId, seen.prettify());

        assertEquals("k-1", text(result.key()));
        Map<String, String> h = headers(result);
        assertEquals("trig-in", h.get("skiff-source-topic"));
        assertEquals("0", h.get("skiff-source-partition"));
        assertEquals("0", h.get("skiff-source-offset"));
        assertEquals("200", h.get("skiff-status"));
        assertEquals(callId, h.get("skiff-call-id"));
        assertTrue(h.get("content-type").startsWith("application/json"), h.toString());
        await("the offset committed", Duration.ofSeconds(30),
                () -> committedQuietly("skiff-trigger-trig-echo-trig-in", new TopicPartition("trig-in", 0)) == 1);

        Metrics.awaitLine("skiff_trigger_records_total\\{function=\"trig-echo\",outcome=\"succeeded\",trigger=\"trig-in\"} [1-9].*");
        Metrics.awaitLine("skiff_trigger_lag\\{function=\"trig-echo\",trigger=\"trig-in\"} 0.*");
        assertEquals(0, triggers.backlog("trig-echo"));
        assertTrue(triggers.backlogs().contains(new TriggerManager.TriggerBacklog("trig-echo", "trig-in", 0, 8, 100)), triggers.backlogs().toString());
        // The consumer reports its backlog to the autoscaler on fn.metrics, keyed by function.
        try (KafkaConsumer<String, String> reports = new KafkaConsumer<>(Map.of("bootstrap.servers", LocalKafkaResource.bootstrapServers(),
                "group.id", "backlog-reports-" + System.nanoTime(), "auto.offset.reset", "latest"), new StringDeserializer(), new StringDeserializer())) {
            reports.subscribe(List.of("fn.metrics"));
            long deadline = System.nanoTime() + 15_000_000_000L;
            String report = null;
            while (report == null && System.nanoTime() < deadline) {
                for (var r : reports.poll(Duration.ofMillis(300))) {
                    if ("trig-echo".equals(r.key()) && r.value() != null && r.value().contains("\"kind\":\"backlog\"")) report = r.value();
                }
            }
            assertTrue(report != null && report.contains("\"lag\":0") && report.contains("\"maxInFlight\":8") && report.contains("\"lagThreshold\":100"),
                    "a backlog report of trig-echo on fn.metrics: " + report);
        }
    }

    @Test
    void aPoisonRecordGoesToTheDeadLetterTopicAndTheOthersGoOn() throws Exception {
        createTopic("trig-poison", 1, Map.of());
        Functions.deploy("trig-poison", """
                triggers:
                  - topic: trig-poison
                    startFrom: earliest
                    deadLetterTopic: trig-poison.dlq
                    %s
                """.formatted(FAST_RETRY), """
                def handle(event, context):
                    if event.body == b"poison":
                        return {"statusCode": 500, "body": "cannot digest this"}
                    return "ok"
                """);
        produce("trig-poison", "a", "r0", Map.of());
        produce("trig-poison", "b", "poison", Map.of("tenant", "acme"));
        produce("trig-poison", "c", "r2", Map.of());
        produce("trig-poison", "d", "r3", Map.of());
        await("the group's offset past all four records", Duration.ofSeconds(120),
                () -> committedQuietly("skiff-trigger-trig-poison-trig-poison", new TopicPartition("trig-poison", 0)) == 4);
        List<ConsumerRecord<byte[], byte[]>> dead = read("trig-poison.dlq", 2, Duration.ofSeconds(5), false);
        assertEquals(1, dead.size(), "one dead letter");
        ConsumerRecord<byte[], byte[]> d = dead.get(0);
        assertEquals("b", text(d.key()));
        assertEquals("poison", text(d.value()));
        Map<String, String> h = headers(d);
        assertEquals("acme", h.get("tenant"));
        assertEquals("trig-poison", h.get("skiff-dlq-topic"));
        assertEquals("0", h.get("skiff-dlq-partition"));
        assertEquals("1", h.get("skiff-dlq-offset"));
        assertEquals("trig-poison", h.get("skiff-dlq-function"));
        assertEquals("trig-poison", h.get("skiff-dlq-trigger"));
        assertEquals("500", h.get("skiff-dlq-status"));
        assertEquals("3", h.get("skiff-dlq-attempts"));
        assertEquals("cannot digest this", h.get("skiff-dlq-error"));
        Metrics.awaitLine("skiff_trigger_records_total\\{function=\"trig-poison\",outcome=\"dead_lettered\",trigger=\"trig-poison\"} 1\\.0");
        Metrics.awaitLine("skiff_trigger_records_total\\{function=\"trig-poison\",outcome=\"retried\",trigger=\"trig-poison\"} 2\\.0");
    }

    @Test
    void aBatchCarriesTheWaitingRecordsAndAPoisonRecordAloneGoesToTheDeadLetters() throws Exception {
        createTopic("trig-batch", 1, Map.of());
        int count = 60;
        int poison = 25;
        // A backlog first, so that the trigger finds full batches waiting when it starts.
        for (int i = 0; i < count; i++) produce("trig-batch", "k" + (i % 3), i == poison ? "poison" : "r" + i, Map.of());
        Functions.deploy("trig-batch", """
                triggers:
                  - topic: trig-batch
                    startFrom: earliest
                    batchSize: 10
                    resultTopic: trig-batch.out
                    deadLetterTopic: trig-batch.dlq
                    %s
                """.formatted(FAST_RETRY), """
                import json
                def handle(event, context):
                    batch = json.loads(event.body)
                    if any(r["value"] == "poison" for r in batch):
                        return {"statusCode": 500, "body": "cannot digest a batch with poison in it"}
                    size = event.headers.get("x-skiff-batch-size")
                    out = [{"upper": r["value"].upper(), "offset": r["offset"], "batch": len(batch), "header": size} for r in batch]
                    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(out)}
                """);
        await("the group's offset past all " + count + " records", Duration.ofSeconds(120),
                () -> committedQuietly("skiff-trigger-trig-batch-trig-batch", new TopicPartition("trig-batch", 0)) == count);
        List<ConsumerRecord<byte[], byte[]>> out = read("trig-batch.out", count, Duration.ofSeconds(10), false);
        assertEquals(count - 1, out.size(), "a result for every record but the poison one");
        int biggest = 0;
        for (int i = 0; i < out.size(); i++) {
            ConsumerRecord<byte[], byte[]> r = out.get(i);
            JsonPath result = new JsonPath(text(r.value()));
            long source = Long.parseLong(headers(r).get("skiff-source-offset"));
            assertEquals(i < poison ? i : i + 1, source, "results in input order, the poison record's missing");
            assertEquals(source, result.getLong("offset"));
            assertEquals("R" + source, result.getString("upper"));
            assertEquals(Integer.toString(result.getInt("batch")), result.getString("header"));
            assertEquals("k" + (source % 3), text(r.key()));
            assertEquals("application/json", headers(r).get("content-type"));
            biggest = Math.max(biggest, result.getInt("batch"));
        }
        assertEquals(10, biggest, "a backlog makes full batches");
        List<ConsumerRecord<byte[], byte[]>> dead = read("trig-batch.dlq", 2, Duration.ofSeconds(5), false);
        assertEquals(1, dead.size(), "only the poison record is a dead letter: its batch was split");
        assertEquals("poison", text(dead.get(0).value()));
        assertEquals(Integer.toString(poison), headers(dead.get(0)).get("skiff-dlq-offset"));
        assertEquals("500", headers(dead.get(0)).get("skiff-dlq-status"));
        assertEquals("cannot digest a batch with poison in it", headers(dead.get(0)).get("skiff-dlq-error"));
    }

    @Test
    void keyOrderHoldsWhileDifferentKeysRunInParallel() throws Exception {
        int keys = 20;
        int perKey = 30;
        createTopic("trig-keys", 4, Map.of());
        // One replica serving 8 calls at once: the module-level counter sees them all.
        Functions.deploy("trig-keys", """
                concurrency: 8
                maxScale: 1
                triggers:
                  - topic: trig-keys
                    startFrom: earliest
                    ordering: key
                    concurrency: 8
                    resultTopic: trig-keys.out
                """, """
                import random, threading, time
                lock = threading.Lock()
                now = 0
                peak = 0
                def handle(event, context):
                    global now, peak
                    with lock:
                        now += 1
                        peak = max(peak, now)
                    try:
                        time.sleep(random.uniform(0.001, 0.015))
                        return "%s %d" % (event.body.decode(), peak)
                    finally:
                        with lock:
                            now -= 1
                """);
        for (int seq = 0; seq < perKey; seq++) {
            for (int k = 0; k < keys; k++) {
                producer.send(new ProducerRecord<>("trig-keys", utf8("key" + k), utf8("key" + k + ":" + seq)));
            }
        }
        producer.flush();
        List<ConsumerRecord<byte[], byte[]>> out = read("trig-keys.out", keys * perKey, Duration.ofSeconds(240), false);
        assertEquals(keys * perKey, out.size(), "all results");
        Map<String, Integer> last = new HashMap<>();
        int peak = 0;
        for (ConsumerRecord<byte[], byte[]> r : out) { // each key's results are in one partition, in the order they were written
            String[] parts = text(r.value()).split(" ");
            String key = parts[0].substring(0, parts[0].indexOf(':'));
            int seq = Integer.parseInt(parts[0].substring(parts[0].indexOf(':') + 1));
            assertEquals(key, text(r.key()));
            int before = last.getOrDefault(key, -1);
            assertEquals(before + 1, seq, "key " + key + ": " + seq + " came after " + before);
            last.put(key, seq);
            peak = Math.max(peak, Integer.parseInt(parts[1]));
        }
        assertTrue(peak > 1, "calls of different keys ran in parallel: peak " + peak);
        assertTrue(peak <= 8, "at most the trigger's concurrency at once: peak " + peak);
    }

    @Test
    void aDeadLetterTopicThatRefusesHoldsTheCommitBackUntilItAccepts() throws Exception {
        createTopic("trig-stuck", 1, Map.of());
        // Every dead letter is larger than 64 bytes: the broker refuses it until the limit is raised.
        createTopic("trig-stuck.dlq", 1, Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "64"));
        Functions.deploy("trig-stuck", """
                triggers:
                  - topic: trig-stuck
                    startFrom: earliest
                    ordering: none
                    deadLetterTopic: trig-stuck.dlq
                    resultTopic: trig-stuck.out
                    retry: {maxAttempts: 1}
                """, """
                def handle(event, context):
                    if event.body == b"poison":
                        return {"statusCode": 400, "body": "refused"}
                    return "ok " + event.body.decode()
                """);
        TopicPartition tp = new TopicPartition("trig-stuck", 0);
        String group = "skiff-trigger-trig-stuck-trig-stuck";
        produce("trig-stuck", null, "r0", Map.of());
        produce("trig-stuck", null, "poison", Map.of());
        produce("trig-stuck", null, "r2", Map.of());
        produce("trig-stuck", null, "r3", Map.of());
        // The records after the poison are handled (their results are out)...
        List<ConsumerRecord<byte[], byte[]>> out = read("trig-stuck.out", 3, Duration.ofSeconds(90), false);
        assertEquals(3, out.size(), "results of r0, r2, r3");
        // ...but nothing past the poison is committed while its dead letter is refused.
        await("r0 committed", Duration.ofSeconds(30), () -> committedQuietly(group, tp) == 1);
        for (int i = 0; i < 10; i++) {
            Thread.sleep(500);
            assertEquals(1, committed(group, tp), "committed past a record whose dead letter is not written");
        }
        assertEquals(0, read("trig-stuck.dlq", 1, Duration.ofSeconds(1), false).size());
        setTopicConfig("trig-stuck.dlq", TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "1048576");
        await("the offset past all four once the dead letter is written", Duration.ofSeconds(60), () -> committedQuietly(group, tp) == 4);
        List<ConsumerRecord<byte[], byte[]>> dead = read("trig-stuck.dlq", 1, Duration.ofSeconds(30), false);
        assertEquals(1, dead.size());
        assertEquals("poison", text(dead.get(0).value()));
        assertEquals("400", headers(dead.get(0)).get("skiff-dlq-status"));
        assertEquals("1", headers(dead.get(0)).get("skiff-dlq-attempts"));
    }

    @Test
    void deletingAFunctionStopsItsConsumerAndAFailingFunctionStallsNoOther() throws Exception {
        createTopic("trig-failing", 1, Map.of());
        createTopic("trig-healthy", 1, Map.of());
        Functions.deploy("trig-failing", """
                triggers:
                  - topic: trig-failing
                    startFrom: earliest
                    retry: {maxAttempts: 100, backoff: 2s, maxBackoff: 5s}
                """, """
                def handle(event, context):
                    return {"statusCode": 500, "body": "always"}
                """);
        for (int i = 0; i < 5; i++) produce("trig-failing", null, "f" + i, Map.of());
        Functions.deploy("trig-healthy", """
                triggers:
                  - topic: trig-healthy
                    startFrom: earliest
                    resultTopic: trig-healthy.out
                """, """
                def handle(event, context):
                    return "done " + event.body.decode()
                """);
        for (int i = 0; i < 3; i++) produce("trig-healthy", null, "h" + i, Map.of());
        assertEquals(3, read("trig-healthy.out", 3, Duration.ofSeconds(90), false).size(), "the healthy trigger went on");
        TopicPartition tp = new TopicPartition("trig-healthy", 0);
        String group = "skiff-trigger-trig-healthy-trig-healthy";
        await("the healthy trigger committed", Duration.ofSeconds(30), () -> committedQuietly(group, tp) == 3);
        assertTrue(triggers.isRunning("trig-failing", "trig-failing"));

        given().when().delete("/v1/functions/trig-healthy").then().statusCode(204);
        await("the consumer left its group", Duration.ofSeconds(30), () -> {
            try {
                return admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group).members().isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(!triggers.isRunning("trig-healthy", "trig-healthy"));
        produce("trig-healthy", null, "after-delete", Map.of());
        Thread.sleep(3000);
        assertEquals(3, committed(group, tp), "a record produced after the delete is not consumed");
        assertEquals(3, read("trig-healthy.out", 4, Duration.ofSeconds(2), false).size());

        given().when().delete("/v1/functions/trig-failing").then().statusCode(204);
        await("the failing trigger stopped", Duration.ofSeconds(30), () -> !triggers.isRunning("trig-failing", "trig-failing"));
        // Its first record never succeeded: nothing past it was committed.
        assertTrue(committed("skiff-trigger-trig-failing-trig-failing", new TopicPartition("trig-failing", 0)) <= 0);
        // A function that is gone is not the record's fault: its record being retried is not dead-lettered.
        assertEquals(0, read("skiff.dlq.trig-failing", 1, Duration.ofSeconds(3), false).size());
    }

    @Test
    void exactlyOnceResultsSurviveTransientFailuresAndAnAbortedTransaction() throws Exception {
        int n = 20;
        createTopic("trig-eos", 2, Map.of());
        // Results (a batch of over 150 bytes: the value alone is 93) are refused at first: every
        // transaction aborts until the limit is raised. Not lower: the broker checks the limit on
        // the abort marker too (a batch of ~80 bytes), and a transaction whose marker it cannot
        // write never ends (every later InitProducerId times out; CI saw this with 64).
        createTopic("trig-eos.out", 1, Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "150"));
        Functions.deploy("trig-eos", """
                maxScale: 1
                triggers:
                  - topic: trig-eos
                    startFrom: earliest
                    ordering: key
                    resultTopic: trig-eos.out
                    exactlyOnce: true
                    %s
                """.formatted(FAST_RETRY), """
                seen = set()
                def handle(event, context):
                    body = event.body.decode()
                    if body not in seen:
                        seen.add(body)
                        return {"statusCode": 503, "body": "first time fails"}
                    return "result of " + body + " " + "x" * 80
                """);
        for (int i = 0; i < n; i++) produce("trig-eos", "k" + (i % 5), "r" + i, Map.of());
        Thread.sleep(5000);
        assertEquals(0, read("trig-eos.out", 1, Duration.ofSeconds(1), true).size(), "nothing committed while the topic refuses");
        setTopicConfig("trig-eos.out", TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "1048576");
        List<ConsumerRecord<byte[], byte[]>> out = read("trig-eos.out", n, Duration.ofSeconds(90), true);
        assertEquals(n, out.size(), "every result");
        // Give a duplicate (if the engine made one) time to show up, then read everything committed.
        Thread.sleep(3000);
        out = read("trig-eos.out", n + 1, Duration.ofSeconds(5), true);
        Set<String> distinct = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> r : out) {
            assertTrue(distinct.add(text(r.value())), "a result twice: " + text(r.value()));
            assertEquals("200", headers(r).get("skiff-status"));
        }
        assertEquals(n, distinct.size());
        await("the offsets committed with the results", Duration.ofSeconds(30),
                () -> Math.max(0, committedQuietly("skiff-trigger-trig-eos-trig-eos", new TopicPartition("trig-eos", 0)))
                        + Math.max(0, committedQuietly("skiff-trigger-trig-eos-trig-eos", new TopicPartition("trig-eos", 1))) == n);
    }

    @Test
    void aBadTriggersSectionIsRefusedAtDeploy() throws Exception {
        given().contentType("application/gzip").body(Functions.pack("trig-bad", """
                triggers:
                  - topic: orders
                    bogus: 1
                """, "def handle(e, c):\n    return 'x'\n"))
                .when().put("/v1/functions/trig-bad").then().statusCode(400)
                .body("error", org.hamcrest.Matchers.equalTo("unknown_key"))
                .body("message", org.hamcrest.Matchers.containsString("'bogus'"));
        given().contentType("application/gzip").body(Functions.pack("trig-bad", """
                triggers:
                  - topic: orders
                    exactlyOnce: true
                """, "def handle(e, c):\n    return 'x'\n"))
                .when().put("/v1/functions/trig-bad").then().statusCode(400)
                .body("message", org.hamcrest.Matchers.containsString("resultTopic"));
    }

    @Test
    void aChangedTriggerIsRestartedWithItsNewConfig() throws Exception {
        createTopic("trig-change", 1, Map.of());
        String fn = """
                def handle(event, context):
                    return event.path
                """;
        String yaml = """
                triggers:
                  - topic: trig-change
                    startFrom: earliest
                    path: %s
                    resultTopic: trig-change.out
                """;
        Functions.deploy("trig-change", yaml.formatted("/one"), fn);
        produce("trig-change", null, "r1", Map.of());
        assertEquals(1, read("trig-change.out", 1, Duration.ofSeconds(90), false).size());
        given().contentType("application/gzip").body(Functions.pack("trig-change", yaml.formatted("/two"), fn))
                .when().put("/v1/functions/trig-change").then().statusCode(200); // a new version of an existing function
        await("the trigger restarted with the new path", Duration.ofSeconds(30),
                () -> triggers.config("trig-change", "trig-change").map(t -> t.path().equals("/two")).orElse(false));
        produce("trig-change", null, "r2", Map.of());
        List<ConsumerRecord<byte[], byte[]>> out = read("trig-change.out", 2, Duration.ofSeconds(90), false);
        assertEquals(List.of("/one", "/two"), out.stream().map(r -> text(r.value())).toList());
        // The same group went on where the old consumer stopped: r1 was not delivered again.
        await("both committed", Duration.ofSeconds(30),
                () -> committedQuietly("skiff-trigger-trig-change-trig-change", new TopicPartition("trig-change", 0)) == 2);
        assertEquals(2, read("trig-change.out", 3, Duration.ofSeconds(2), false).size());
    }

    @Test
    void aRevokedPartitionsRunningRecordIsNotCommittedByItsOldOwner() throws Exception {
        createTopic("trig-rebal", 2, Map.of());
        Functions.deploy("trig-rebal", """
                triggers:
                  - topic: trig-rebal
                    startFrom: earliest
                    resultTopic: trig-rebal.out
                """, """
                import time
                def handle(event, context):
                    time.sleep(2)
                    return event.body
                """);
        for (int p = 0; p < 2; p++) {
            for (int i = 0; i < 8; i++) producer.send(new ProducerRecord<>("trig-rebal", p, null, utf8("p" + p + "-" + i))).get();
        }
        String group = "skiff-trigger-trig-rebal-trig-rebal";
        read("trig-rebal.out", 2, Duration.ofSeconds(90), false); // both partitions are under way
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, LocalKafkaResource.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, org.apache.kafka.clients.consumer.CooperativeStickyAssignor.class.getName());
        try (KafkaConsumer<byte[], byte[]> thief = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            thief.subscribe(List.of("trig-rebal"));
            List<ConsumerRecord<byte[], byte[]>> seen = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (thief.assignment().isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : thief.poll(Duration.ofMillis(200))) seen.add(r);
            }
            assertEquals(1, thief.assignment().size(), "the second member got one partition");
            TopicPartition taken = thief.assignment().iterator().next();
            long atRevocation = committed(group, taken);
            // The old owner's record that was running there finishes within 2 s: it must not be committed.
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < end) {
                for (ConsumerRecord<byte[], byte[]> r : thief.poll(Duration.ofMillis(200))) seen.add(r);
                assertEquals(atRevocation, committed(group, taken), "the old owner committed a revoked partition");
            }
            // The new owner is handed everything from the committed offset on: nothing is skipped.
            List<Long> offsets = seen.stream().filter(r -> r.partition() == taken.partition()).map(ConsumerRecord::offset).toList();
            assertTrue(!offsets.isEmpty() && offsets.get(0) == Math.max(0, atRevocation), "first offset " + offsets + " vs " + atRevocation);
        }
        // The thief left without committing: the trigger takes the partition back and finishes both.
        await("all committed", Duration.ofSeconds(120), () -> committedQuietly(group, new TopicPartition("trig-rebal", 0)) == 8
                && committedQuietly(group, new TopicPartition("trig-rebal", 1)) == 8);
    }

    @Test
    void aTriggerOutlivesTheBrokerGoingAway() throws Exception {
        createTopic("trig-down", 1, Map.of());
        Functions.deploy("trig-down", """
                triggers:
                  - topic: trig-down
                    startFrom: earliest
                    resultTopic: trig-down.out
                """, "def handle(e, c):\n    return 'up ' + e.body.decode()\n");
        produce("trig-down", null, "before", Map.of());
        assertEquals(1, read("trig-down.out", 1, Duration.ofSeconds(90), false).size());
        LocalKafkaResource.stopBroker();
        try {
            Thread.sleep(6000);
            assertTrue(triggers.isRunning("trig-down", "trig-down"), "the consumer died with the broker");
        } finally {
            LocalKafkaResource.startBrokerAgain();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) { // the test's own producer needs the broker back too
            try {
                produce("trig-down", null, "after", Map.of());
                break;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) throw e;
            }
        }
        List<ConsumerRecord<byte[], byte[]>> out = read("trig-down.out", 2, Duration.ofSeconds(120), false);
        assertEquals(List.of("up before", "up after"), out.stream().map(r -> text(r.value())).toList());
        await("both committed", Duration.ofSeconds(60),
                () -> committedQuietly("skiff-trigger-trig-down-trig-down", new TopicPartition("trig-down", 0)) == 2);
    }
}
