package dev.skiff.server.trigger;

import dev.skiff.invoker.TriggerConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * A trigger's consumer, exactly-once for its results (consume-transform-produce, KIP-98/447):
 * a polled batch is run to its outcomes (calls in parallel as the ordering allows, retries in
 * place), then its result and dead-letter records and its offsets go in one transaction
 * ({@code sendOffsetsToTransaction} with the consumer's group metadata, so a zombie from an older
 * generation is fenced). Any failure aborts the transaction (a new producer with the same
 * transactional id) and seeks back to the group's committed offsets: the batch is run again and
 * its results written again, but only the committed copy is visible to {@code read_committed} readers.
 *
 * <p>The function itself may run more than once for a record (after an abort or a crash): only
 * what lands on the result topic is exactly-once. There is no polling while a batch runs (the
 * partitions cannot move under it); a batch is small (max.poll.records) for that reason.
 */
final class ExactlyOnceLoop extends TriggerLoop {
    private static final Logger LOG = Logger.getLogger(ExactlyOnceLoop.class);

    private final Supplier<KafkaProducer<byte[], byte[]>> newProducer;
    /** Whether {@code producer} got through initTransactions. */
    private boolean initialized;
    private KafkaProducer<byte[], byte[]> producer;
    private final ExecutorService tasks;
    /** The first offsets of a batch that did not commit: where to look for the committed offsets before polling again. */
    private Map<TopicPartition, Long> rewind;
    /** Set to make the running batch stand down (a stop). */
    private volatile boolean abandon;

    ExactlyOnceLoop(String function, TriggerConfig trigger, KafkaConsumer<byte[], byte[]> consumer,
            Supplier<KafkaProducer<byte[], byte[]>> newProducer, TriggerCall call, TriggerMetrics metrics) {
        super(function, trigger, consumer, call, metrics);
        this.newProducer = newProducer;
        this.tasks = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("trigger-eos-" + function + "-" + trigger.name() + "-", 0).factory());
    }

    @Override
    void halt(Duration drain) {
        super.halt(drain);
        // A batch is all or nothing: let it finish within the drain time, then make it stand down.
        Thread.ofVirtual().start(() -> {
            sleep(drain.toMillis());
            abandon = true;
        });
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(trigger.topics());
            while (running) {
                try {
                    if (producer == null) {
                        producer = newProducer.get();
                        initialized = false;
                    }
                    if (!initialized) {
                        // Fences an older producer of this trigger on this node: its open transaction is
                        // aborted, or, when its commit had reached the coordinator, completed. A timeout
                        // here is retried on the same producer (its request stays pending at the
                        // coordinator); a new producer each time could keep waiting behind the last one.
                        producer.initTransactions();
                        initialized = true;
                    }
                    if (rewind != null) rewindToCommitted();
                    ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(200));
                    refreshLag();
                    if (!batch.isEmpty()) runBatch(batch);
                } catch (WakeupException e) {
                    // halt()
                } catch (RuntimeException e) {
                    LOG.warnf("trigger %s: %s; going on in 1 s", describe(), e.toString());
                    if (initialized || !(e instanceof org.apache.kafka.common.errors.TimeoutException)) closeProducer();
                    sleep(1000);
                }
            }
        } finally {
            abandon = true;
            tasks.shutdown();
            closeProducer();
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.debugf("closing the consumer of trigger %s: %s", describe(), e.toString());
            }
        }
    }

    private void runBatch(ConsumerRecords<byte[], byte[]> batch) {
        Map<TopicPartition, Long> start = new HashMap<>();
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : batch) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            start.putIfAbsent(tp, r.offset());
            next.put(tp, new OffsetAndMetadata(r.offset() + 1));
            records.add(r);
        }
        TriggerCall.Outcome[] outcomes = new TriggerCall.Outcome[records.size()];
        CountDownLatch done = new CountDownLatch(records.size());
        AtomicReference<LaneDispatcher<Integer>> dispatcher = new AtomicReference<>();
        dispatcher.set(new LaneDispatcher<>(trigger.concurrency(), trigger.batchSize(), started -> tasks.execute(() -> {
            List<Integer> indices = started.items();
            try {
                List<TriggerCall.Outcome> got = call.run(indices.stream().map(records::get).toList(), () -> abandon);
                for (int k = 0; k < indices.size(); k++) outcomes[indices.get(k)] = got.get(k);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the outcomes stay null: the batch starts over
            } catch (RuntimeException e) {
                ConsumerRecord<byte[], byte[]> first = records.get(indices.get(0));
                LOG.errorf(e, "trigger %s at %s-%d@%d", describe(), first.topic(), first.partition(), first.offset());
            } finally {
                dispatcher.get().finished(started);
                indices.forEach(i -> done.countDown());
            }
        })));
        for (int i = 0; i < records.size(); i++) dispatcher.get().submit(lane(trigger.ordering(), records.get(i)), i);
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abandon = true;
        }
        for (TriggerCall.Outcome o : outcomes) {
            if (o == null || o.kind() == TriggerCall.Kind.ABANDONED || o.kind() == TriggerCall.Kind.FUNCTION_GONE) {
                if (o != null && o.kind() == TriggerCall.Kind.FUNCTION_GONE) {
                    LOG.infof("trigger %s: the function is gone; stopping its consumer", describe());
                    functionGone = true;
                    running = false;
                }
                rewind = start; // nothing was written: the batch starts over
                return;
            }
        }
        try {
            producer.beginTransaction();
            for (TriggerCall.Outcome o : outcomes) {
                if (o.output() != null) producer.send(o.output()); // in input order: a key's results stay in order
            }
            producer.sendOffsetsToTransaction(next, consumer.groupMetadata());
            producer.commitTransaction(); // flushes: every send above is in or the commit fails
            for (TriggerCall.Outcome o : outcomes) metrics.outcome(function, trigger.name(), o.kind());
        } catch (KafkaException e) {
            // The outcome may be unknown (a commit that timed out can still complete on the
            // broker), so never simply re-run the batch: a fresh producer resolves the open
            // transaction, then the group's committed offsets say where to go on from.
            LOG.warnf("trigger %s: transaction failed (%s); going on from the last committed offsets", describe(), e.toString());
            abortOrClose();
            rewind = start;
            sleep(1000); // not a hot loop of calls while, say, the result topic refuses the records
        }
    }

    /**
     * After a failed or abandoned batch: back to the committed offset of each partition of the
     * batch (read with require_stable, as read_committed consumers do, so a transaction still in
     * doubt is waited for), or the batch's first record where the group has committed nothing.
     */
    private void rewindToCommitted() {
        Set<TopicPartition> parts = new HashSet<>(rewind.keySet());
        parts.retainAll(consumer.assignment()); // a partition gone in a rebalance starts from its commit anyway
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(parts, Duration.ofSeconds(30));
        for (TopicPartition tp : parts) {
            OffsetAndMetadata o = committed.get(tp);
            consumer.seek(tp, o != null ? o.offset() : rewind.get(tp));
        }
        rewind = null;
    }

    /**
     * Ends a failed transaction: an abortable error (a record the topic refuses, a broker away)
     * is aborted on the same producer; when that is not possible (fenced, a commit whose outcome
     * is unknown) the producer is closed and a fresh one resolves the transaction on start.
     */
    private void abortOrClose() {
        try {
            producer.abortTransaction();
        } catch (RuntimeException e) {
            LOG.debugf("trigger %s: abort not possible (%s); starting a fresh producer", describe(), e.toString());
            closeProducer();
        }
    }

    private void closeProducer() {
        if (producer == null) return;
        try {
            producer.close(Duration.ofSeconds(2));
        } catch (RuntimeException e) {
            LOG.debugf("closing the producer of trigger %s: %s", describe(), e.toString());
        }
        producer = null;
        initialized = false;
    }
}
