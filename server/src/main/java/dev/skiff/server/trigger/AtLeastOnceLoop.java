package dev.skiff.server.trigger;

import dev.skiff.invoker.TriggerConfig;
import dev.skiff.server.async.PartitionLanes;
import dev.skiff.server.async.RetryPolicy;
import dev.skiff.server.async.Room;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * A trigger's consumer, at-least-once: records run on virtual threads as the ordering allows
 * ({@link LaneDispatcher}), and a record's offset is committed only when it and every record
 * before it in its partition are done ({@link PartitionLanes}). Done means: the call succeeded
 * (and its result is acknowledged by the broker, when there is a result topic), or its dead letter
 * is acknowledged. A record's slot is free once its output is sent; the ack is awaited in the
 * send's callback. A dead letter that cannot be written is tried again, with backoff, for as long
 * as the partition is ours: never skipped, and nothing after it is committed meanwhile.
 *
 * <p>Like the async worker, beyond a limit of held records it pauses its partitions and keeps
 * polling, so a slow function does not get the consumer thrown out of its group.
 */
final class AtLeastOnceLoop extends TriggerLoop implements ConsumerRebalanceListener {
    private static final Logger LOG = Logger.getLogger(AtLeastOnceLoop.class);
    /** Backoff of a result or dead letter the broker refuses (full jitter, like the calls). */
    private static final RetryPolicy WRITE_BACKOFF = new RetryPolicy(Integer.MAX_VALUE, Duration.ofMillis(200), Duration.ofSeconds(5));

    private final KafkaProducer<byte[], byte[]> producer;
    private final PartitionLanes lanes = new PartitionLanes();
    private final LaneDispatcher<Task> dispatcher;
    private final ExecutorService tasks;
    private final int maxHeld;
    /** Results and dead letters sent and not acknowledged yet: a stop waits for them (drain time). */
    private final AtomicInteger unacked = new AtomicInteger();
    /** Records held (waiting, running, or sent and not acknowledged) against maxHeld. */
    private final Room room;

    private record Task(ConsumerRecord<byte[], byte[]> record, PartitionLanes.Lane lane) {}

    AtLeastOnceLoop(String function, TriggerConfig trigger, KafkaConsumer<byte[], byte[]> consumer, KafkaProducer<byte[], byte[]> producer,
            TriggerCall call, TriggerMetrics metrics) {
        super(function, trigger, consumer, call, metrics);
        this.producer = producer;
        this.tasks = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("trigger-" + function + "-" + trigger.name() + "-", 0).factory());
        this.dispatcher = new LaneDispatcher<>(trigger.concurrency(), trigger.batchSize(), this::execute);
        // Enough waiting for every slot to find a full batch when it frees.
        this.maxHeld = Math.max(100, Math.max(10, 2 * trigger.batchSize()) * trigger.concurrency());
        this.room = new Room(() -> dispatcher.held() + unacked.get(), maxHeld);
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(trigger.topics(), this);
            while (running) {
                try {
                    Duration pollTimeout = room.throttle(consumer, Duration.ofMillis(200));
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(pollTimeout)) take(r);
                    lanes.commitDone(consumer, lanes.owned());
                    refreshLag();
                } catch (WakeupException e) {
                    // halt()
                } catch (RuntimeException e) {
                    // The broker away, a commit refused: keep going; nothing uncommitted is lost.
                    LOG.warnf("trigger %s: %s; going on in 1 s", describe(), e.toString());
                    sleep(1000);
                }
            }
            long deadline = System.nanoTime() + drain.toNanos();
            while ((dispatcher.held() > 0 || unacked.get() > 0) && System.nanoTime() < deadline) sleep(50);
            try {
                lanes.commitDone(consumer, lanes.owned());
            } catch (RuntimeException e) {
                LOG.infof("trigger %s: last commit failed (%s); the records not committed are read again", describe(), e.toString());
            }
        } finally {
            lanes.dropAll(); // records still running stand down: they write and commit nothing
            tasks.shutdown();
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.debugf("closing the consumer of trigger %s: %s", describe(), e.toString());
            }
            producer.close(Duration.ofSeconds(2));
        }
    }

    private void execute(LaneDispatcher.Batch<Task> batch) {
        try {
            tasks.execute(() -> process(batch));
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            // the loop has ended: the records were not committed, whoever reads the partitions next runs them
        }
    }

    private void take(ConsumerRecord<byte[], byte[]> r) {
        PartitionLanes.Lane lane = lanes.started(new TopicPartition(r.topic(), r.partition()), r.offset());
        if (lane == null) return; // revoked in this very poll
        dispatcher.submit(lane(trigger.ordering(), r), new Task(r, lane));
    }

    private void process(LaneDispatcher.Batch<Task> batch) {
        List<Task> items = batch.items();
        List<ConsumerRecord<byte[], byte[]>> records = items.stream().map(Task::record).toList();
        // Abandoned when no record's partition is ours any more; a record of a partition that moved
        // while the others' call ran is then not written and not committed (its new owner runs it).
        BooleanSupplier abandoned = () -> items.stream().allMatch(t -> t.lane().revoked());
        try {
            // Not "while running": on a stop, records that finish within the drain time still count.
            while (!abandoned.getAsBoolean()) {
                try {
                    List<TriggerCall.Outcome> outcomes = call.run(records, abandoned);
                    for (int i = 0; i < items.size(); i++) {
                        Task t = items.get(i);
                        TriggerCall.Outcome outcome = outcomes.get(i);
                        switch (outcome.kind()) {
                            case ABANDONED -> { }
                            case FUNCTION_GONE -> {
                                if (!functionGone) LOG.infof("trigger %s: the function is gone; stopping its consumer", describe());
                                functionGone = true;
                                halt(Duration.ZERO);
                            }
                            default -> {
                                if (t.lane().revoked()) continue;
                                if (outcome.output() == null) done(t, outcome.kind());
                                else write(t, outcome);
                            }
                        }
                    }
                    return;
                } catch (RuntimeException e) {
                    // A bug, not an outcome: the records stay uncommitted and are tried again, so none is lost.
                    LOG.errorf(e, "trigger %s at %s-%d@%d (%d records); trying again in 5 s", describe(), records.get(0).topic(),
                            records.get(0).partition(), records.get(0).offset(), records.size());
                    Thread.sleep(5000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            dispatcher.finished(batch);
            room.freed();
        }
    }

    private void writeEnded() {
        unacked.decrementAndGet();
        room.freed();
    }

    private void done(Task t, TriggerCall.Kind kind) {
        metrics.outcome(function, trigger.name(), kind);
        t.lane().finished(t.record().offset());
    }

    /**
     * Sends the record's result or dead letter and returns at once: the slot goes to the next
     * record while the broker acknowledges (waiting for each ack in its slot capped a trigger at
     * slots / (call + ack)). The offset counts as done in the send's callback. The producer keeps
     * send order within a partition, so the results of one key stay in call order unless a send
     * fails and is written again from {@link #writeUntilAcked}.
     */
    private void write(Task t, TriggerCall.Outcome outcome) throws InterruptedException {
        unacked.incrementAndGet();
        try {
            producer.send(outcome.output(), (metadata, error) -> {
                if (error == null) {
                    done(t, outcome.kind());
                    writeEnded();
                } else {
                    // The producer's I/O thread must not wait: retries go to a thread of their own.
                    writeAgain(t, outcome);
                }
            });
        } catch (RuntimeException e) { // refused before sending (buffer full for max.block.ms, closing)
            writeBlocking(t, outcome);
        }
    }

    /** A write whose send failed or was refused: again until acknowledged (then done) or the partition goes. */
    private void writeBlocking(Task t, TriggerCall.Outcome outcome) throws InterruptedException {
        try {
            if (writeUntilAcked(outcome.output(), t.lane())) done(t, outcome.kind());
        } finally {
            writeEnded();
        }
    }

    private void writeAgain(Task t, TriggerCall.Outcome outcome) {
        try {
            tasks.execute(() -> {
                try {
                    writeBlocking(t, outcome);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            writeEnded(); // the loop has ended: not committed, read again by the next owner
        }
    }

    /**
     * Writes a result or dead letter and waits for the broker's acknowledgement, again and again
     * while it is refused (broker away, topic missing, record too large for the topic), for as
     * long as the partition is ours. False: given up because the partition went or we stop.
     */
    private boolean writeUntilAcked(ProducerRecord<byte[], byte[]> record, PartitionLanes.Lane lane) throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            if (lane.revoked()) return false;
            try {
                producer.send(record).get(15, TimeUnit.SECONDS);
                return true;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
                Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
                Duration wait = WRITE_BACKOFF.backoff(Math.min(attempt, 10), ThreadLocalRandom.current()::nextDouble);
                LOG.warnf("trigger %s: could not write to %s (%s); nothing after this record is committed until it is; again in %d ms",
                        describe(), record.topic(), cause, wait.toMillis());
                if (!TriggerCall.sleep(wait, lane::revoked)) return false;
            }
        }
    }


    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        lanes.assigned(partitions);
        if (!partitions.isEmpty()) LOG.infof("trigger %s: took %s", describe(), partitions);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        lanes.handOver(consumer, partitions, "trigger " + describe());
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        lanes.lost(partitions, "trigger " + describe());
    }
}
