package dev.skiff.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real broker: topic, produce, consume with a group, stop, restart on the same data. */
class LocalKafkaTest {
    static final String TOPIC = "skiff-local-test";
    static final String GROUP = "skiff-local-test-group";

    @TempDir
    Path data;

    @Test
    void producesConsumesAndKeepsItsDataAcrossARestart() throws Exception {
        Path meta = data.resolve("kafka/logs/meta.properties");
        String clusterId;

        long started = System.nanoTime();
        try (LocalKafka kafka = LocalKafka.start(data, 0)) {
            System.out.printf("cold start (format + broker): %d ms%n", (System.nanoTime() - started) / 1_000_000);
            assertTrue(kafka.isRunning());
            assertTrue(kafka.bootstrapServers().startsWith("127.0.0.1:"), kafka.bootstrapServers());
            assertTrue(Files.exists(meta), "storage formatted");
            clusterId = clusterId(meta);

            // One launcher per data directory.
            IOException busy = assertThrows(IOException.class, () -> LocalKafka.start(data, 0));
            assertTrue(busy.getMessage().contains("already uses"), busy.getMessage());
            assertTrue(kafka.isRunning());

            try (Admin admin = admin(kafka)) {
                admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get();
            }
            try (KafkaProducer<String, String> producer = producer(kafka)) {
                RecordMetadata sent = producer.send(new ProducerRecord<>(TOPIC, "k", "hello from skiff")).get();
                assertEquals(0, sent.offset());
            }
            // Through a consumer group: needs __consumer_offsets (replication factor 1 here).
            try (KafkaConsumer<String, String> consumer = consumer(kafka, GROUP)) {
                consumer.subscribe(List.of(TOPIC));
                List<ConsumerRecord<String, String>> got = pollFor(consumer, 1);
                assertEquals("k", got.get(0).key());
                assertEquals("hello from skiff", got.get(0).value());
                consumer.commitSync();
            }
            kafka.stop();
            assertFalse(kafka.isRunning());
            assertTrue(kafka.stopRequested());
            kafka.stop(); // idempotent
        }

        started = System.nanoTime();
        try (LocalKafka kafka = LocalKafka.start(data, 0)) {
            System.out.printf("restart: %d ms%n", (System.nanoTime() - started) / 1_000_000);
            assertEquals(clusterId, clusterId(meta), "not formatted again");
            try (Admin admin = admin(kafka)) {
                assertTrue(admin.listTopics().names().get().contains(TOPIC));
                Map<TopicPartition, OffsetAndMetadata> committed =
                        admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get();
                assertEquals(1, committed.get(new TopicPartition(TOPIC, 0)).offset(), "committed offset survived");
            }
            try (KafkaConsumer<String, String> consumer = consumer(kafka, null)) {
                TopicPartition partition = new TopicPartition(TOPIC, 0);
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                List<ConsumerRecord<String, String>> got = pollFor(consumer, 1);
                assertEquals("hello from skiff", got.get(0).value(), "record survived the restart");
            }
        }
        assertTrue(Files.readString(data.resolve("kafka/broker.log.1")).contains("Kafka Server started"));
    }

    @Test
    void failsWithTheBrokersLogWhenItsPortIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            IOException e = assertThrows(IOException.class, () -> LocalKafka.start(data, taken.getLocalPort()));
            assertTrue(e.getMessage().contains("exited with code"), e.getMessage());
            assertTrue(e.getMessage().contains("Address already in use"), e.getMessage());
        }
        // The data directory is released after a failed start.
        Files.createDirectories(data.resolve("kafka"));
        try (var channel = java.nio.channels.FileChannel.open(data.resolve("kafka/launcher.lock"),
                java.nio.file.StandardOpenOption.WRITE); var lock = channel.tryLock()) {
            assertTrue(lock != null);
        }
    }

    static String clusterId(Path meta) throws IOException {
        Properties p = new Properties();
        try (var in = Files.newInputStream(meta)) {
            p.load(in);
        }
        return p.getProperty("cluster.id");
    }

    static Admin admin(LocalKafka kafka) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    }

    static KafkaProducer<String, String> producer(LocalKafka kafka) {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), new StringSerializer());
    }

    static KafkaConsumer<String, String> consumer(LocalKafka kafka, String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        if (group != null) p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    static List<ConsumerRecord<String, String>> pollFor(KafkaConsumer<String, String> consumer, int count) {
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (got.size() < count && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(500)).forEach(got::add);
        }
        assertEquals(count, got.size(), "records consumed");
        return got;
    }
}
