package dev.skiff.server.cluster;

import dev.skiff.invoker.FunctionLogs;
import dev.skiff.invoker.LocalInvoker;
import dev.skiff.invoker.SkiffConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The invoker role sends what its functions print to {@value LogRecords#TOPIC}, where every
 * gateway reads it ({@link ClusterLogs}): `fn logs` on any gateway shows the lines of every
 * invoker. A function never waits for this: lines go through a bounded queue to one sender
 * thread, and when the broker is down and the queue is full, lines are dropped and counted
 * (the invoker's own log and its local buffer still have them).
 */
@ApplicationScoped
public class LogShipper {
    private static final Logger LOG = Logger.getLogger(LogShipper.class);
    private static final int QUEUE = 10_000;

    @Inject
    SkiffConfig config;

    @Inject
    LocalInvoker invoker;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    private final BlockingQueue<FunctionLogs.Line> queue = new ArrayBlockingQueue<>(QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private volatile boolean stopping;
    private Thread sender;

    void start(@Observes StartupEvent ignored) {
        if (!config.role().invoker()) return;
        invoker.logs().onAppend(line -> {
            if (!queue.offer(line)) dropped.incrementAndGet();
        });
        sender = Thread.ofPlatform().daemon().name("log-shipper").start(this::send);
    }

    void stop(@Observes ShutdownEvent ignored) {
        stopping = true;
        if (sender != null) sender.interrupt();
    }

    private void send() {
        try (KafkaProducer<String, byte[]> producer = producer()) {
            long reported = 0;
            while (!stopping) {
                FunctionLogs.Line line = queue.poll(1, TimeUnit.SECONDS);
                if (line != null) {
                    producer.send(new ProducerRecord<>(LogRecords.TOPIC, line.function(), LogRecords.toJson(line, invoker.invokerId())), (md, e) -> {
                        if (e != null) dropped.incrementAndGet();
                    });
                }
                long lost = dropped.get();
                if (lost - reported >= 1 && (line == null || lost - reported >= 1000)) {
                    LOG.warnf("%d function output lines were not sent to %s (broker unreachable or too slow); gateways on other nodes miss them",
                            lost - reported, LogRecords.TOPIC);
                    reported = lost;
                }
            }
        } catch (InterruptedException | org.apache.kafka.common.errors.InterruptException e) {
            // stopping
        }
    }

    /** Lines are worth little alone and much together: batch them (20 ms), leader ack only, never block long. */
    private KafkaProducer<String, byte[]> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "skiff-logs-" + invoker.invokerId());
        p.put(ProducerConfig.ACKS_CONFIG, "1");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "2000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(Duration.ofSeconds(30).toMillis()));
        p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }
}
