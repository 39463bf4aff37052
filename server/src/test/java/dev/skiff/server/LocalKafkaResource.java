package dev.skiff.server;

import dev.skiff.kafka.LocalKafka;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Map;
import java.util.UUID;

/**
 * One real Kafka broker (the launcher {@code fn up} uses) for the whole test run, in a temporary
 * directory on a free port. Every test class names it, with {@link FreshDataDir}, so that all of
 * them share one application and one broker (different resource sets would restart Quarkus).
 */
public class LocalKafkaResource implements QuarkusTestResourceLifecycleManager {
    // Static so that a test can restart the broker (same data, same port) under the running app.
    private static LocalKafka kafka;
    private static java.nio.file.Path dataDir;
    private static int port;

    @Override
    public Map<String, String> start() {
        // The test broker lives one run: C1 only starts it faster on 2 cores (as in kafka-local's
        // tests). Set only while starting: the property is under skiff.*, which Skiff's config
        // mapping checks, and an unknown skiff.* key would stop the application from starting.
        System.setProperty(LocalKafka.JVM_OPTIONS_PROPERTY, "-XX:TieredStopAtLevel=1");
        try {
            dataDir = Files.createTempDirectory("skiff-test-kafka");
            kafka = LocalKafka.start(dataDir, 0);
            port = Integer.parseInt(kafka.bootstrapServers().substring(kafka.bootstrapServers().lastIndexOf(':') + 1));
        } catch (IOException e) {
            throw new IllegalStateException("could not start the test Kafka broker: " + e.getMessage(), e);
        } finally {
            System.clearProperty(LocalKafka.JVM_OPTIONS_PROPERTY);
        }
        return Map.of(
                "kafka.bootstrap.servers", kafka.bootstrapServers(),
                "mp.messaging.incoming.fn-scale-in.group.id", "skiff-invoker-test-" + UUID.randomUUID());
    }

    /** For tests that produce their own records onto the topics. */
    static String bootstrapServers() {
        return org.eclipse.microprofile.config.ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
    }

    /** Stops the broker (as a crash of it would, but cleanly). */
    static synchronized void stopBroker() {
        kafka.close();
    }

    /** Starts it again with the same data on the same port. */
    static synchronized void startBrokerAgain() throws IOException {
        System.setProperty(LocalKafka.JVM_OPTIONS_PROPERTY, "-XX:TieredStopAtLevel=1");
        try {
            kafka = LocalKafka.start(dataDir, port);
        } finally {
            System.clearProperty(LocalKafka.JVM_OPTIONS_PROPERTY);
        }
    }

    @Override
    public void stop() {
        if (kafka != null) kafka.close();
    }
}
