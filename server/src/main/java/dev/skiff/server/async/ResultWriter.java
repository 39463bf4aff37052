package dev.skiff.server.async;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Writes a call's status to fn.async.results, and into this gateway's own view at once. */
@ApplicationScoped
public class ResultWriter {
    @Inject
    AsyncProducer producer;

    @Inject
    CallResults results;

    private static ProducerRecord<String, byte[]> record(CallResult r) {
        return new ProducerRecord<>(AsyncTopics.RESULTS, r.callId(), AsyncMessages.resultJson(r));
    }

    /** A passing status (queued, running): a later record makes up for a lost one, so nobody waits. */
    public void update(CallResult r) {
        results.put(r, System.currentTimeMillis());
        producer.sendQuietly(record(r));
    }

    /** A final result: returns once the broker has it (or {@code wanted} says to stop trying). */
    public boolean finish(CallResult r, BooleanSupplier wanted) throws InterruptedException {
        results.put(r, System.currentTimeMillis());
        return producer.sendUntilAcked(record(r), wanted);
    }
}
