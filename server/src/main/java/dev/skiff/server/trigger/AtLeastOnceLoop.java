package dev.skiff.server.trigger;

import dev.skiff.invoker.TriggerConfig;
import dev.skiff.server.async.PartitionLanes;
import dev.skiff.server.async.RetryPolicy;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
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
 * is acknowledged. A dead letter that cannot be written is tried again, with backoff, for as long
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

    private record Task(ConsumerRecord<byte[], byte[]> record, PartitionLanes.Lane lane, Object laneKey) {}

    AtLeastOnceLoop(String function, TriggerConfig trigger, KafkaConsumer<byte[], byte[]> consumer, KafkaProducer<byte[], byte[]> producer,
            TriggerCall call, TriggerMetrics metrics) {
        super(function, trigger, consumer, call, metrics);
        this.producer = producer;
        this.tasks = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("trigger-" + function + "-" + trigger.name() + "-", 0).factory());
        this.dispatcher = new LaneDispatcher<>(trigger.concurrency(), this::execute);
        this.maxHeld = Math.max(100, 10 * trigger.concurrency());
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(trigger.topics(), this);
            while (running) {
                try {
                    throttle();
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) take(r);
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
            while (dispatcher.held() > 0 && System.nanoTime() < deadline) sleep(50);
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

    private void execute(Task t) {
        try {
            tasks.execute(() -> process(t));
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            // the loop has ended: the record was not committed, whoever reads the partition next runs it
        }
    }

    private void take(ConsumerRecord<byte[], byte[]> r) {
        PartitionLanes.Lane lane = lanes.started(new TopicPartition(r.topic(), r.partition()), r.offset());
        if (lane == null) return; // revoked in this very poll
        Object key = lane(trigger.ordering(), r); // once: a record's own lane is a fresh object
        dispatcher.submit(key, new Task(r, lane, key));
    }

    private void process(Task t) {
        try {
            // Not "while running": on a stop, records that finish within the drain time still count.
            while (!t.lane().revoked()) {
                try {
                    TriggerCall.Outcome outcome = call.run(t.record(), t.lane()::revoked);
                    switch (outcome.kind()) {
                        case ABANDONED -> { return; }
                        case FUNCTION_GONE -> {
                            LOG.infof("trigger %s: the function is gone; stopping its consumer", describe());
                            functionGone = true;
                            halt(Duration.ZERO);
                            return;
                        }
                        default -> {
                            if (outcome.output() != null && !writeUntilAcked(outcome.output(), t.lane())) return;
                            metrics.outcome(function, trigger.name(), outcome.kind());
                            t.lane().finished(t.record().offset());
                            return;
                        }
                    }
                } catch (RuntimeException e) {
                    // A bug, not an outcome: the record stays uncommitted and is tried again, so it is not lost.
                    LOG.errorf(e, "trigger %s at %s-%d@%d; trying it again in 5 s", describe(), t.record().topic(), t.record().partition(),
                            t.record().offset());
                    Thread.sleep(5000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            dispatcher.finished(t.laneKey());
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

    private void throttle() {
        PartitionLanes.throttle(consumer, dispatcher.held() >= maxHeld);
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
