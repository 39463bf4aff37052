package dev.skiff.server.async;

import dev.skiff.invoker.SkiffConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The settings of the three Kafka clients of async calls, in one place, because they must agree
 * with each other and with the topics (record sizes, timeouts).
 */
@ApplicationScoped
public class AsyncClients {
    static final String WORKER_GROUP = "skiff-async";

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Inject
    AsyncConfig config;

    @Inject
    SkiffConfig skiffConfig;

    /** The whole wait for an acknowledgement, metadata included; at least 2 s (the client's own timeouts nest inside it). */
    long produceTimeoutMillis() {
        return Math.max(2000, config.produceTimeout().toMillis());
    }

    /** acks=all with idempotence: a record counts only once every in-sync replica has it, and a retried send never writes it twice. */
    Map<String, Object> producer() {
        long timeout = produceTimeoutMillis();
        int maxRecord = Math.max(AsyncTopics.maxCallRecordBytes(skiffConfig.maxBodyBytes()),
                AsyncTopics.maxResultRecordBytes(config.maxResultBodyBytes()));
        Map<String, Object> p = common("skiff-async");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 1);
        // A caller with the broker down gets its 503 within produce-timeout.
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(1000, timeout / 2));
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) timeout);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxRecord);
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(32L << 20, 4L * maxRecord));
        return p;
    }

    /** The worker: group skiff-async, commits by hand. */
    Map<String, Object> workerConsumer() {
        Map<String, Object> p = common("skiff-async-worker");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, WORKER_GROUP);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // A call accepted before any worker ever ran is still in the topic: start from the oldest.
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Math.max(1, Math.min(500, config.maxInFlight())));
        // One record may be as large as the largest body; fetch it in one go.
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, AsyncTopics.maxCallRecordBytes(skiffConfig.maxBodyBytes()));
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        // A gateway that died without leaving gives its partitions up after 10 s, not the default 45 s.
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000);
        // A gateway joining or leaving moves only the partitions that change hands; the others keep running.
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        return p;
    }

    /** The results reader: no group (every gateway reads everything), partitions assigned by hand. */
    Map<String, Object> resultsConsumer() {
        Map<String, Object> p = common("skiff-async-results");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, AsyncTopics.maxResultRecordBytes(config.maxResultBodyBytes()));
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        return p;
    }

    private Map<String, Object> common(String clientId) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", bootstrapServers);
        p.put("client.id", clientId);
        p.put("reconnect.backoff.max.ms", 2000);
        return p;
    }
}
