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
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The lines a gateway's logs API shows: those of the invoker in this process, at once, and
 * those every other invoker sent to {@value LogRecords#TOPIC} (its own lines there are skipped,
 * so none shows twice). On start the gateway reads the last {@value #HISTORY} records of each
 * partition, so `fn logs --tail` works on a gateway that just (re)started.
 */
@ApplicationScoped
public class ClusterLogs {
    private static final Logger LOG = Logger.getLogger(ClusterLogs.class);
    static final int LINES_PER_FUNCTION = 1000;
    private static final int HISTORY = 2000;

    @Inject
    SkiffConfig config;

    @Inject
    LocalInvoker local;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    private final FunctionLogs view = new FunctionLogs(LINES_PER_FUNCTION);
    private volatile boolean stopping;
    private volatile KafkaConsumer<String, byte[]> reading;

    void start(@Observes StartupEvent ignored) {
        if (!config.role().gateway()) return;
        if (config.role().invoker()) local.logs().onAppend(view::append);
        Thread.ofPlatform().daemon().name("log-follower").start(this::follow);
    }

    void stop(@Observes ShutdownEvent ignored) {
        stopping = true;
        KafkaConsumer<String, byte[]> c = reading;
        if (c != null) c.wakeup();
    }

    public FunctionLogs view() {
        return view;
    }

    private void follow() {
        String self = config.role().invoker() ? local.invokerId() : null;
        while (!stopping) {
            try (KafkaConsumer<String, byte[]> consumer = KafkaClients.reader(bootstrap, "skiff-log-follower")) {
                reading = consumer;
                if (stopping) return;
                List<TopicPartition> parts = FunctionCatalog.partitions(consumer, LogRecords.TOPIC);
                if (parts.isEmpty()) {
                    Thread.sleep(1000);
                    continue;
                }
                consumer.assign(parts);
                Map<TopicPartition, Long> begin = consumer.beginningOffsets(parts);
                for (var e : consumer.endOffsets(parts).entrySet()) {
                    consumer.seek(e.getKey(), Math.max(begin.get(e.getKey()), e.getValue() - HISTORY));
                }
                while (!stopping) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) take(r, self);
                }
            } catch (InterruptedException | org.apache.kafka.common.errors.InterruptException | org.apache.kafka.common.errors.WakeupException e) {
                return;
            } catch (RuntimeException e) {
                if (stopping) return;
                LOG.debugf("following %s: %s; starting over", LogRecords.TOPIC, e.toString());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void take(ConsumerRecord<String, byte[]> r, String self) {
        if (r.value() == null) return;
        try {
            LogRecords.Received received = LogRecords.parse(r.value());
            if (!received.invoker().equals(self)) view.append(received.line());
        } catch (java.io.IOException | RuntimeException e) {
            LOG.debugf("skipping a record on %s: %s", LogRecords.TOPIC, e.toString());
        }
    }
}
