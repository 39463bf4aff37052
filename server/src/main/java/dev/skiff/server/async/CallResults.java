package dev.skiff.server.async;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * Every gateway's view of fn.async.results, so that any gateway answers {@code GET /v1/calls/{id}}
 * whichever gateway accepted the call and whichever worker ran it. A consumer without a group
 * reads every partition from the beginning into a map bounded in size (oldest out first) and
 * age (skiff.async.result-retention, the topic's retention too). What this process writes goes
 * into the map at once as well, so a call it just accepted answers "queued", never 404.
 */
@ApplicationScoped
public class CallResults {
    private static final Logger LOG = Logger.getLogger(CallResults.class);

    @Inject
    AsyncClients clients;

    @Inject
    AsyncConfig config;

    @Inject
    MeterRegistry registry;

    private record Held(CallResult result, long expiresAtMillis) {}

    private final Map<String, Held> results = new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Held> eldest) {
            return size() > config.maxResults();
        }
    };

    private volatile boolean running;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private Thread reader;

    void start(@Observes StartupEvent ignored) {
        Gauge.builder("skiff_async_results_kept", this, CallResults::size).description("Async call results this gateway holds").register(registry);
        running = true;
        reader = Thread.ofPlatform().daemon().name("async-results").start(this::read);
    }

    void stop(@Observes ShutdownEvent ignored) throws InterruptedException {
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) c.wakeup();
        if (reader != null) reader.join(5000);
    }

    public Optional<CallResult> get(String callId) {
        synchronized (results) {
            Held e = results.get(callId);
            if (e == null || e.expiresAtMillis < System.currentTimeMillis()) return Optional.empty();
            return Optional.of(e.result);
        }
    }

    /** Takes a result in, unless the one held already tells more (records of one call may arrive out of order). */
    public void put(CallResult r, long writtenAtMillis) {
        long expires = writtenAtMillis + config.resultRetention().toMillis();
        if (expires < System.currentTimeMillis()) return;
        synchronized (results) {
            Held held = results.get(r.callId());
            if (held != null && !held.result.supersededBy(r)) return;
            // Re-inserted at the end, so the map stays roughly in time order for the sweep and eviction.
            results.remove(r.callId());
            results.put(r.callId(), new Held(r, expires));
        }
    }

    int size() {
        synchronized (results) {
            return results.size();
        }
    }

    private void sweep() {
        long now = System.currentTimeMillis();
        synchronized (results) {
            Iterator<Held> it = results.values().iterator();
            while (it.hasNext()) {
                if (it.next().expiresAtMillis < now) it.remove();
            }
        }
    }

    private void read() {
        Map<String, Object> p = clients.resultsConsumer();
        long nextSweep = 0;
        while (running) {
            try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
                consumer = c;
                if (!running) return;
                List<PartitionInfo> parts = c.partitionsFor(AsyncTopics.RESULTS, Duration.ofSeconds(10));
                if (parts == null || parts.isEmpty()) {
                    Thread.sleep(1000); // not created yet
                    continue;
                }
                List<TopicPartition> tps = parts.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
                c.assign(tps);
                c.seekToBeginning(tps);
                LOG.debugf("reading %s (%d partitions)", AsyncTopics.RESULTS, tps.size());
                while (running) {
                    for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) take(r);
                    if (System.currentTimeMillis() > nextSweep) {
                        sweep();
                        nextSweep = System.currentTimeMillis() + 30_000;
                    }
                }
            } catch (WakeupException e) {
                return;
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // The broker away for long, or the topic recreated: start over (the map stays).
                LOG.warnf("reading %s: %s; starting over in 2 s", AsyncTopics.RESULTS, e.toString());
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void take(ConsumerRecord<String, byte[]> r) {
        if (r.key() == null) return;
        if (r.value() == null) { // a tombstone: forget the call
            synchronized (results) {
                results.remove(r.key());
            }
            return;
        }
        try {
            CallResult result = AsyncMessages.parseResult(r.value());
            if (result.callId().equals(r.key())) put(result, r.timestamp());
        } catch (AsyncMessages.MalformedMessage e) {
            LOG.debugf("skipping a record on %s: %s", AsyncTopics.RESULTS, e.getMessage());
        }
    }
}
