package dev.skiff.server.cluster;

import dev.skiff.invoker.SkiffConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The gateway's view of the invokers: the latest announcement of each, read from
 * {@code fn.invokers}. An invoker is live while it keeps announcing (within
 * {@code skiff.invoker-timeout}) and has not said it is leaving; one this gateway could not
 * connect to is out of rotation until it announces itself again after that.
 */
@ApplicationScoped
public class InvokerRegistry {
    private static final Logger LOG = Logger.getLogger(InvokerRegistry.class);

    @Inject
    SkiffConfig config;

    @ConfigProperty(name = "kafka.bootstrap.servers")
    String bootstrap;

    private record Seen(Announcement announcement, long receivedNanos) {}

    private final Map<String, Seen> invokers = new ConcurrentHashMap<>();
    /** Invokers a connection to failed, with when: out until they announce again after it. */
    private final Map<String, Long> unreachableSince = new ConcurrentHashMap<>();
    private volatile Thread reader;
    private volatile boolean stopping;
    private volatile KafkaConsumer<String, byte[]> reading;

    void start(@Observes StartupEvent ignored) {
        if (!config.role().gateway()) return;
        reader = Thread.ofPlatform().daemon().name("invoker-registry").start(this::read);
    }

    void stop(@Observes ShutdownEvent ignored) {
        stopping = true;
        // wakeup(), not interrupt(): an interrupted consumer cannot close cleanly.
        KafkaConsumer<String, byte[]> c = reading;
        if (c != null) c.wakeup();
    }

    /** Live invokers other than {@code exceptId} (this process's own, which is called in-process). */
    public List<Announcement> live(String exceptId) {
        long now = System.nanoTime();
        long timeout = config.invokerTimeout().toNanos();
        List<Announcement> live = new ArrayList<>();
        for (Seen s : invokers.values()) {
            Announcement a = s.announcement();
            if (a.leaving() || a.invoker().equals(exceptId) || now - s.receivedNanos() > timeout) continue;
            Long down = unreachableSince.get(a.invoker());
            if (down != null && s.receivedNanos() - down < 0) continue;
            live.add(a);
        }
        return live;
    }

    /** A call could not connect to this invoker: take it out of rotation until it announces again. */
    public void unreachable(String invokerId) {
        unreachableSince.put(invokerId, System.nanoTime());
        LOG.warnf("invoker %s cannot be reached: out of rotation until it announces itself again", invokerId);
    }

    /** Test and health hook: how many invokers are live, this process's own included. */
    public int liveCount() {
        return live(null).size();
    }

    void accept(Announcement a) {
        Seen before = invokers.put(a.invoker(), new Seen(a, System.nanoTime()));
        if (before == null && !a.leaving()) LOG.infof("invoker %s at %s joined", a.invoker(), a.url());
        if (a.leaving() && (before == null || !before.announcement().leaving())) LOG.infof("invoker %s at %s is leaving", a.invoker(), a.url());
    }

    private void read() {
        while (!stopping) {
            try (KafkaConsumer<String, byte[]> consumer = KafkaClients.reader(bootstrap, "skiff-registry-" + ProcessHandle.current().pid())) {
                reading = consumer;
                if (stopping) return;
                List<TopicPartition> parts = FunctionCatalog.partitions(consumer, FunctionCatalog.INVOKERS_TOPIC);
                if (parts.isEmpty()) {
                    sleep(1000);
                    continue;
                }
                consumer.assign(parts);
                // Announcements older than the timeout say nothing about now; every live invoker
                // announces within a second anyway.
                consumer.seekToEnd(parts);
                while (!stopping) {
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        if (r.value() == null) continue;
                        try {
                            accept(Announcement.parse(new String(r.value(), StandardCharsets.UTF_8)));
                        } catch (IllegalArgumentException e) {
                            LOG.debugf("skipping a record on %s: %s", FunctionCatalog.INVOKERS_TOPIC, e.getMessage());
                        }
                    }
                }
            } catch (org.apache.kafka.common.errors.InterruptException | org.apache.kafka.common.errors.WakeupException e) {
                return;
            } catch (RuntimeException e) {
                if (stopping) return;
                LOG.warnf("reading %s failed (%s); trying again", FunctionCatalog.INVOKERS_TOPIC, e.toString());
                sleep(1000);
            }
        }
    }

    private void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            stopping = true;
        }
    }
}
