package dev.skiff.server.scale;

import dev.skiff.invoker.SkiffConfig;
import dev.skiff.server.async.AsyncConfig;
import dev.skiff.server.async.AsyncTopics;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import dev.skiff.server.cluster.ClusterKey;
import dev.skiff.server.cluster.FunctionCatalog;
import dev.skiff.server.cluster.LogRecords;
import dev.skiff.server.cluster.TokenCatalog;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Creates {@value #METRICS} and {@value #SCALE}, and the async topics ({@link AsyncTopics}), when
 * Skiff starts (an existing topic is left as it is), before the messaging channels start: the broker Skiff starts does not create topics on
 * first use, and the partitions and retention should be ours, not a broker default.
 */
@ApplicationScoped
public class KafkaTopics {
    public static final String METRICS = "fn.metrics";
    public static final String SCALE = "fn.scale";
    private static final Logger LOG = Logger.getLogger(KafkaTopics.class);
    private static final Duration FIRST_TRY = Duration.ofSeconds(15);
    private static final Duration RETRY_EVERY = Duration.ofSeconds(5);

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrapServers;

    @Inject
    AsyncConfig asyncConfig;

    @Inject
    SkiffConfig skiffConfig;

    /** Samples: one a second per function and invoker; an hour is plenty to look back at. */
    static NewTopic metricsTopic() {
        return new NewTopic(METRICS, 3, (short) 1).configs(Map.of(
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofHours(1).toMillis())));
    }

    /** Decisions: only the latest per function matters (compacted), and old ones are ignored anyway. */
    static NewTopic scaleTopic() {
        return new NewTopic(SCALE, 3, (short) 1).configs(Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT + "," + TopicConfig.CLEANUP_POLICY_DELETE,
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofMinutes(10).toMillis()),
                TopicConfig.SEGMENT_MS_CONFIG, Long.toString(Duration.ofMinutes(10).toMillis())));
    }

    /** Invoker announcements (every second each): only the last few seconds matter. */
    static NewTopic invokersTopic() {
        return new NewTopic(FunctionCatalog.INVOKERS_TOPIC, 1, (short) 1).configs(Map.of(
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofMinutes(10).toMillis()),
                TopicConfig.SEGMENT_MS_CONFIG, Long.toString(Duration.ofMinutes(10).toMillis())));
    }

    /** The function catalog: the latest record per function, kept for ever; one partition keeps changes in order. */
    static NewTopic functionsTopic() {
        return new NewTopic(FunctionCatalog.FUNCTIONS_TOPIC, 1, (short) 1).configs(Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.RETENTION_MS_CONFIG, "-1"));
    }

    /** Function packages in chunks, keyed per version and chunk, kept for ever (until deleted). */
    static NewTopic packagesTopic() {
        return new NewTopic(FunctionCatalog.PACKAGES_TOPIC, 1, (short) 1).configs(Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.RETENTION_MS_CONFIG, "-1",
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(2 * 1024 * 1024)));
    }

    /**
     * API tokens (records without the tokens themselves): the latest record per token, kept for
     * ever; a revocation's tombstone stays a year, so a gateway that was down that long still
     * learns of it.
     */
    static NewTopic tokensTopic() {
        return new NewTopic(TokenCatalog.TOPIC, 1, (short) 1).configs(Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.RETENTION_MS_CONFIG, "-1",
                TopicConfig.DELETE_RETENTION_MS_CONFIG, Long.toString(Duration.ofDays(365).toMillis())));
    }

    /** The key gateways show invokers ({@link ClusterKey}): the first one proposed, kept for ever. */
    static NewTopic clusterTopic() {
        return new NewTopic(ClusterKey.TOPIC, 1, (short) 1).configs(Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.RETENTION_MS_CONFIG, "-1"));
    }

    /** What functions printed, from every invoker: a day of it, at most 256 MiB per partition. */
    static NewTopic logsTopic() {
        return new NewTopic(LogRecords.TOPIC, 3, (short) 1).configs(Map.of(
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofDays(1).toMillis()),
                TopicConfig.RETENTION_BYTES_CONFIG, Long.toString(256L << 20),
                TopicConfig.SEGMENT_BYTES_CONFIG, Long.toString(32L << 20)));
    }

    private List<NewTopic> wanted() {
        List<NewTopic> all = new java.util.ArrayList<>(List.of(metricsTopic(), scaleTopic(), invokersTopic(), functionsTopic(), packagesTopic(), tokensTopic(), clusterTopic(), logsTopic()));
        all.addAll(AsyncTopics.topics(asyncConfig, skiffConfig.maxBodyBytes()));
        return all;
    }

    // Before SmallRye Reactive Messaging (LIBRARY_BEFORE) starts the channels.
    void create(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE + 10) StartupEvent ignored) {
        if (tryCreate(FIRST_TRY)) return;
        // A configured cluster that is down: Skiff serves calls anyway and keeps trying.
        Thread.ofPlatform().daemon().name("kafka-topics").start(() -> {
            while (!tryCreate(FIRST_TRY)) {
                try {
                    Thread.sleep(RETRY_EVERY.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    private boolean tryCreate(Duration timeout) {
        Properties config = new Properties();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(AdminClientConfig.CLIENT_ID_CONFIG, "skiff-topics");
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(timeout.toMillis()));
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        try (Admin admin = Admin.create(config)) {
            Set<String> existing = admin.listTopics().names().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            List<NewTopic> missing = wanted().stream()
                    .filter(t -> !existing.contains(t.name())).toList();
            if (missing.isEmpty()) return true;
            try {
                admin.createTopics(missing).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                LOG.infof("created Kafka topics %s on %s", missing.stream().map(NewTopic::name).toList(), bootstrapServers);
            } catch (ExecutionException e) {
                // Another Skiff created it meanwhile: fine.
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            LOG.warnf("could not create the Kafka topics on %s yet (%s); scaling and async calls wait for the broker, sync calls are served anyway",
                    bootstrapServers, e.getCause() != null ? e.getCause().toString() : e.toString());
            return false;
        }
    }
}
