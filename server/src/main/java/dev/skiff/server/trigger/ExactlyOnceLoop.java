package dev.skiff.server.trigger;

import dev.skiff.invoker.TriggerConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * A trigger's consumer, exactly-once for its results (consume-transform-produce, KIP-98/447):
 * a polled batch is run to its outcomes (calls in parallel as the ordering allows, retries in
 * place), then its result and dead-letter records and its offsets go in one transaction
 * ({@code sendOffsetsToTransaction} with the consumer's group metadata, so a zombie from an older
 * generation is fenced). Any failure aborts the transaction and seeks back to the batch's start,
 * which is the last committed offset: the batch is run again and its results written again, but
 * only the committed copy is visible to {@code read_committed} readers.
 *
 * <p>The function itself may run more than once for a record (after an abort or a crash): only
 * what lands on the result topic is exactly-once. There is no polling while a batch runs (the
 * partitions cannot move under it); a batch is small (max.poll.records) for that reason.
 */
final class ExactlyOnceLoop extends TriggerLoop {
    private static final Logger LOG = Logger.getLogger(ExactlyOnceLoop.class);

    private final Supplier<KafkaProducer<byte[], byte[]>> newProducer;
    private KafkaProducer<byte[], byte[]> producer;
    private final ExecutorService tasks;
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
                        producer.initTransactions(); // fences an older producer of the same trigger on this node, aborting its open transaction
                    }
                    ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(200));
                    refreshLag();
                    if (!batch.isEmpty()) runBatch(batch);
                } catch (WakeupException e) {
                    // halt()
                } catch (RuntimeException e) {
                    LOG.warnf("trigger %s: %s; going on in 1 s", describe(), e.toString());
                    closeProducer();
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
        Object[] laneKeys = new Object[records.size()];
        CountDownLatch done = new CountDownLatch(records.size());
        AtomicReference<LaneDispatcher<Integer>> dispatcher = new AtomicReference<>();
        dispatcher.set(new LaneDispatcher<>(trigger.concurrency(), i -> tasks.execute(() -> {
            try {
                outcomes[i] = call.run(records.get(i), () -> abandon);
            } catch (InterruptedException e) {
                outcomes[i] = new TriggerCall.Outcome(TriggerCall.Kind.ABANDONED, null, 0);
            } catch (RuntimeException e) {
                LOG.errorf(e, "trigger %s at %s-%d@%d", describe(), records.get(i).topic(), records.get(i).partition(), records.get(i).offset());
                outcomes[i] = new TriggerCall.Outcome(TriggerCall.Kind.ABANDONED, null, 0);
            } finally {
                dispatcher.get().finished(laneKeys[i]);
                done.countDown();
            }
        })));
        for (int i = 0; i < records.size(); i++) laneKeys[i] = lane(trigger.ordering(), records.get(i));
        for (int i = 0; i < records.size(); i++) dispatcher.get().submit(laneKeys[i], i);
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
                seekBack(start); // nothing was written: the next owner (or run) starts the batch over
                return;
            }
        }
        try {
            producer.beginTransaction();
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (TriggerCall.Outcome o : outcomes) {
                if (o.output() != null) sent.add(producer.send(o.output()));
            }
            producer.sendOffsetsToTransaction(next, consumer.groupMetadata());
            producer.commitTransaction(); // flushes: every send above is in or the commit fails
            for (TriggerCall.Outcome o : outcomes) metrics.outcome(function, trigger.name(), o.kind());
        } catch (ProducerFencedException | OutOfOrderSequenceException | InvalidProducerEpochException | AuthorizationException
                | UnsupportedVersionException e) {
            // Fatal for this producer: a newer one took the transactional id (or the broker says no). Start afresh.
            LOG.warnf("trigger %s: transaction failed for good (%s); a new producer, and the batch again", describe(), e.toString());
            closeProducer();
            seekBack(start);
            sleep(1000);
        } catch (KafkaException e) {
            LOG.warnf("trigger %s: transaction aborted (%s); the batch again from the last commit", describe(), e.toString());
            try {
                producer.abortTransaction();
            } catch (RuntimeException abortFailed) {
                closeProducer(); // initTransactions on the next producer aborts what is left open
            }
            seekBack(start);
            sleep(1000); // not a hot loop of calls while, say, the result topic refuses the records
        }
    }

    /** Back to the first record of the batch in each partition: the last committed offset. */
    private void seekBack(Map<TopicPartition, Long> start) {
        for (var e : start.entrySet()) {
            try {
                consumer.seek(e.getKey(), e.getValue());
            } catch (IllegalStateException notAssigned) {
                // gone in a rebalance: its next owner starts from the committed offset anyway
            }
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
    }
}
