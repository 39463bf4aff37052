package dev.skiff.server.async;

import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * The one producer of the async topics, shared by the routes and the worker. acks=all with
 * idempotence: a record counts as written only when every in-sync replica has it, and the
 * producer's own retries after a lost acknowledgement do not write it twice. The plain Kafka
 * client rather than a SmallRye channel, because every caller waits for its own acknowledgement
 * (the 202, the offset commit) and decides what to do when it does not come.
 */
@ApplicationScoped
public class AsyncProducer {
    private static final Logger LOG = Logger.getLogger(AsyncProducer.class);

    @Inject
    AsyncClients clients;

    private volatile KafkaProducer<String, byte[]> producer;

    private KafkaProducer<String, byte[]> producer() {
        KafkaProducer<String, byte[]> p = producer;
        if (p != null) return p;
        synchronized (this) {
            if (producer == null) producer = new KafkaProducer<>(clients.producer(), new StringSerializer(), new ByteArraySerializer());
            return producer;
        }
    }

    /** Writes a record and waits for the broker's acknowledgement; throws when it does not come within produce-timeout. */
    public RecordMetadata sendAcked(ProducerRecord<String, byte[]> record) throws ExecutionException, TimeoutException, InterruptedException {
        long wait = clients.produceTimeoutMillis() + 1000;
        return producer().send(record).get(wait, TimeUnit.MILLISECONDS);
    }

    /**
     * Writes a record and waits until the broker acknowledged it, trying again (every few
     * seconds) while the broker is away, for as long as {@code wanted} says the record is still
     * needed. Returns whether it was written. The worker commits a call's offset only after this.
     */
    public boolean sendUntilAcked(ProducerRecord<String, byte[]> record, BooleanSupplier wanted) throws InterruptedException {
        long pause = 500;
        while (true) {
            try {
                sendAcked(record);
                return true;
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                if (!wanted.getAsBoolean()) return false;
                LOG.warnf("could not write to %s (%s); trying again in %d ms", record.topic(),
                        e instanceof ExecutionException ? e.getCause() : e, pause);
                Thread.sleep(pause);
                pause = Math.min(pause * 2, 5000);
            }
        }
    }

    /** Writes without waiting: for records a later one makes up for (a "running" status). */
    public void sendQuietly(ProducerRecord<String, byte[]> record) {
        try {
            producer().send(record, (meta, e) -> {
                if (e != null) LOG.debugf("could not write to %s: %s", record.topic(), e.toString());
            });
        } catch (RuntimeException e) {
            LOG.debugf("could not write to %s: %s", record.topic(), e.toString());
        }
    }

    void close(@Observes ShutdownEvent ignored) {
        KafkaProducer<String, byte[]> p = producer;
        if (p != null) p.close(Duration.ofSeconds(5));
    }
}
