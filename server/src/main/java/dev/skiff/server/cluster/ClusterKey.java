package dev.skiff.server.cluster;

import dev.skiff.gateway.InternalCallers;
import dev.skiff.invoker.SkiffConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The key gateways present on an invoker's /internal routes, shared through Kafka:
 *
 * <pre>
 *   fn.cluster  compacted, one partition, key = "cluster-key/" + the node that proposed it:
 *               the key (43 base64url characters, 256 random bits)
 * </pre>
 *
 * At start every node reads the topic; if it holds no key, the node proposes one and reads again.
 * The first key on the topic is the cluster's, so nodes that start at the same moment and both
 * propose one still settle on the same key; each proposal has its own record key, so compaction
 * never removes the first. Whoever can read the cluster's Kafka topics is trusted already (they
 * can publish functions on fn.functions), so the key adds no new secret to guard, and a single
 * machine needs no configuration.
 */
@ApplicationScoped
public class ClusterKey implements InternalCallers {
    private static final Logger LOG = Logger.getLogger(ClusterKey.class);
    public static final String TOPIC = "fn.cluster";
    static final String RECORD_PREFIX = "cluster-key/";
    private static final Duration RETRY = Duration.ofSeconds(2);

    @Inject
    SkiffConfig config;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    private volatile String key;
    private volatile boolean stopping;
    private volatile KafkaConsumer<String, byte[]> reading;
    private Thread settler;

    void start(@Observes StartupEvent ignored) throws IOException {
        String nodeId = FunctionCatalog.nodeId(config.dataDir());
        settler = Thread.ofPlatform().daemon().name("cluster-key").start(() -> settle(nodeId));
    }

    void stop(@Observes ShutdownEvent ignored) {
        stopping = true;
        KafkaConsumer<String, byte[]> c = reading;
        if (c != null) c.wakeup();
        if (settler != null) settler.interrupt();
    }

    /** The cluster's key, or null while it is not known yet (the broker not reached since start). */
    public String value() {
        return key;
    }

    public boolean known() {
        return key != null;
    }

    @Override
    public boolean admits(String presentedKey) {
        String k = key;
        return k != null && presentedKey != null
                && MessageDigest.isEqual(k.getBytes(StandardCharsets.UTF_8), presentedKey.getBytes(StandardCharsets.UTF_8));
    }

    private void settle(String nodeId) {
        while (!stopping) {
            try (KafkaConsumer<String, byte[]> consumer = KafkaClients.reader(bootstrap, "skiff-cluster-key-" + nodeId)) {
                reading = consumer;
                String found = firstKey(consumer);
                if (found == null) {
                    try (KafkaProducer<String, byte[]> producer = KafkaClients.producer(bootstrap, "skiff-cluster-key-" + nodeId)) {
                        producer.send(new ProducerRecord<>(TOPIC, 0, RECORD_PREFIX + nodeId, newKey())).get(10, TimeUnit.SECONDS);
                    }
                    found = firstKey(consumer); // ours, or one another node proposed just before it
                }
                if (found != null) {
                    key = found;
                    LOG.infof("cluster key settled from %s: gateways of this cluster may call this node's /internal routes", TOPIC);
                    return;
                }
            } catch (InterruptedException | org.apache.kafka.common.errors.InterruptException | org.apache.kafka.common.errors.WakeupException e) {
                return;
            } catch (Exception e) {
                if (stopping) return;
                LOG.debugf("cluster key not settled yet (%s); again in %d s", e.toString(), RETRY.toSeconds());
            } finally {
                reading = null;
            }
            try {
                Thread.sleep(RETRY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Reads the topic from its start to its end; the value of the first key record, or null when it has none. */
    static String firstKey(KafkaConsumer<String, byte[]> consumer) {
        TopicPartition tp = new TopicPartition(TOPIC, 0);
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        long end = consumer.endOffsets(List.of(tp)).get(tp);
        while (consumer.position(tp) < end) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                String found = keyOf(r.key(), r.value());
                if (found != null) return found;
            }
        }
        return null;
    }

    /** A record's key if it is a well-formed key record, else null (anything else on the topic is skipped). */
    static String keyOf(String recordKey, byte[] value) {
        if (recordKey == null || !recordKey.startsWith(RECORD_PREFIX) || value == null) return null;
        String k = new String(value, StandardCharsets.UTF_8);
        return k.matches("[A-Za-z0-9_-]{43}") ? k : null;
    }

    static byte[] newKey() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b).getBytes(StandardCharsets.UTF_8);
    }
}
