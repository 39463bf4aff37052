package dev.skiff.server;

import dev.skiff.kafka.LocalKafka;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.UUID;

/**
 * Skiff's entry point ({@code fn up}): makes sure there is a Kafka broker before Quarkus reads its
 * configuration, then runs the application. With {@code kafka.bootstrap.servers} given (system
 * property, or the environment variable {@value #BOOTSTRAP_ENV}) it uses that cluster and starts
 * nothing; otherwise it starts a single-node broker ({@link LocalKafka}) on loopback with its data
 * in {@code <skiff.data-dir>/kafka}, port {@value #PREFERRED_PORT} (or a free one when that is
 * taken). The broker stops when this JVM exits (LocalKafka's shutdown hook; its own watchdog if
 * this JVM is killed).
 */
@QuarkusMain
public final class SkiffMain {
    static final String BOOTSTRAP_PROPERTY = "kafka.bootstrap.servers";
    static final String BOOTSTRAP_ENV = "SKIFF_KAFKA_BOOTSTRAP";
    static final String SCALE_GROUP_PROPERTY = "mp.messaging.incoming.fn-scale-in.group.id";
    static final String METRICS_GROUP_PROPERTY = "mp.messaging.incoming.fn-metrics-in.group.id";
    static final int PREFERRED_PORT = 9092;

    private SkiffMain() {}

    public static void main(String... args) {
        String bootstrap = System.getProperty(BOOTSTRAP_PROPERTY);
        if (blank(bootstrap)) bootstrap = System.getenv(BOOTSTRAP_ENV);
        if (blank(bootstrap)) {
            bootstrap = startLocalBroker();
        } else {
            System.err.println("fn: using the Kafka cluster at " + bootstrap);
        }
        System.setProperty(BOOTSTRAP_PROPERTY, bootstrap);
        // Every invoker reads every decision on fn.scale: a consumer group of its own.
        if (blank(System.getProperty(SCALE_GROUP_PROPERTY))) {
            System.setProperty(SCALE_GROUP_PROPERTY, invokerGroupId());
        }
        // Only processes that run the autoscaler may join its consumer group on fn.metrics: any
        // other member would take partitions, and the samples on them, away from the autoscaler.
        if (!runsAutoscaler() && blank(System.getProperty(METRICS_GROUP_PROPERTY))) {
            System.setProperty(METRICS_GROUP_PROPERTY, invokerGroupId() + "-metrics-unused");
        }
        Quarkus.run(args);
    }

    private static String startLocalBroker() {
        Path dataDir = Path.of(firstSet(System.getProperty("skiff.data-dir"), System.getenv("SKIFF_DATA_DIR"), "/var/lib/skiff"));
        int port = portFree(PREFERRED_PORT) ? PREFERRED_PORT : 0;
        System.err.printf("fn: starting Kafka broker (data in %s)...%n", dataDir.resolve("kafka"));
        long started = System.nanoTime();
        try {
            LocalKafka kafka = LocalKafka.start(dataDir, port);
            System.err.printf("fn: Kafka broker ready on %s in %.1f s%n", kafka.bootstrapServers(),
                    (System.nanoTime() - started) / 1e9);
            return kafka.bootstrapServers();
        } catch (IOException e) {
            System.err.println("fn: could not start the Kafka broker: " + e.getMessage());
            System.err.println("fn: (point Skiff at a running cluster with --kafka HOST:PORT or " + BOOTSTRAP_ENV + ")");
            System.exit(1);
            throw new IllegalStateException(e);
        }
    }

    /** skiff.role is all or gateway, and skiff.autoscaler.enabled is not false (system property or environment). */
    static boolean runsAutoscaler() {
        String role = firstSet(System.getProperty("skiff.role"), System.getenv("SKIFF_ROLE"), "all");
        String enabled = firstSet(System.getProperty("skiff.autoscaler.enabled"), System.getenv("SKIFF_AUTOSCALER_ENABLED"), "true");
        return !role.trim().equalsIgnoreCase("invoker") && !enabled.trim().equalsIgnoreCase("false");
    }

    static String invokerGroupId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "invoker";
        }
        return "skiff-invoker-" + host + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static boolean portFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String firstSet(String... values) {
        for (String v : values) if (!blank(v)) return v;
        return null;
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
