package dev.skiff.server.trigger;

import dev.skiff.invoker.SkiffConfig;
import dev.skiff.invoker.TriggerConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The Kafka clients of one trigger, in one place because they must agree (record sizes,
 * isolation, transactions). Keys and values are bytes: a trigger passes records on as they are.
 */
@ApplicationScoped
public class TriggerClients {
    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Inject
    SkiffConfig skiff;

    private int maxRecordBytes() {
        return (int) Math.min(Integer.MAX_VALUE - (1 << 20), skiff.maxBodyBytes() + 64 * 1024);
    }

    /**
     * The trigger's consumer: its own group, commits by hand, read_committed under exactly-once
     * (a result another exactly-once trigger aborted must not become this one's input either).
     */
    KafkaConsumer<byte[], byte[]> consumer(String function, TriggerConfig t) {
        Map<String, Object> p = common("skiff-trigger-" + function + "-" + t.name());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, t.group());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, t.startFrom().name().toLowerCase(Locale.ROOT));
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, t.exactlyOnce() ? Math.max(10, Math.min(100, 4 * t.concurrency())) : 100);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, maxRecordBytes());
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
        if (t.exactlyOnce()) {
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            // A batch runs between two polls (its retries included): give it longer than the default
            // 5 min before the member counts as stuck and its transaction's offsets are refused.
            p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, (int) java.time.Duration.ofMinutes(30).toMillis());
        } else {
            // A gateway joining or leaving moves only the partitions that change hands; the others keep running.
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        }
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** acks=all with idempotence, for results and dead letters; with {@code transactionalId} a transactional one. */
    KafkaProducer<byte[], byte[]> producer(String clientId, String transactionalId) {
        Map<String, Object> p = common(clientId);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 1);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5_000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxRecordBytes());
        if (transactionalId != null) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
            p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60_000);
        }
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /**
     * Creates the dead-letter and result topics when missing (with the broker's default
     * partitions and replication): a dead letter must have somewhere to go, and the broker
     * Skiff starts does not create topics on first use. The topics read are the user's: not created.
     */
    void ensureOutputTopics(TriggerConfig t) throws Exception {
        List<String> wanted = new ArrayList<>(List.of(t.deadLetterTopic()));
        if (t.resultTopic() != null) wanted.add(t.resultTopic());
        Map<String, Object> p = new HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "skiff-trigger-topics");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        try (Admin admin = Admin.create(p)) {
            Set<String> existing = admin.listTopics().names().get(10, TimeUnit.SECONDS);
            List<NewTopic> missing = wanted.stream().filter(n -> !existing.contains(n))
                    .map(n -> new NewTopic(n, Optional.empty(), Optional.empty())).toList();
            if (missing.isEmpty()) return;
            try {
                admin.createTopics(missing).all().get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e; // another node was quicker: fine
            }
        }
    }

    private Map<String, Object> common(String clientId) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", bootstrapServers);
        p.put("client.id", clientId);
        p.put("reconnect.backoff.max.ms", 2000);
        return p;
    }
}
