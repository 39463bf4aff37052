package dev.skiff.server.async;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jboss.logging.Logger;

/**
 * One consumer of fn.async in group skiff-async and the calls it has taken: every gateway runs
 * one, so the partitions spread over the gateways, and a dead gateway's partitions move to the
 * others (after its session times out) starting from its last commit.
 *
 * <p>Records run in parallel, each on its own virtual thread (a slow function must not hold up
 * the calls behind it), up to skiff.async.max-in-flight at once; beyond that the consumer pauses
 * its partitions but keeps polling, so it stays in the group. A record's offset is committed only
 * when it and every record before it in its partition are done ({@link OffsetTracker}), and a
 * record is done only when its outcome is acknowledged by the broker ({@link CallRunner}). The
 * KafkaConsumer is not thread-safe: only the loop's thread touches it.
 */
final class WorkerLoop implements Runnable, ConsumerRebalanceListener {
    private static final Logger LOG = Logger.getLogger(WorkerLoop.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final CallRunner runner;
    private final int maxInFlight;
    private final Room room;
    private final PartitionLanes lanes = new PartitionLanes();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ExecutorService tasks = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("async-call-", 0).factory());
    private volatile boolean running = true;
    private volatile Duration drain = Duration.ZERO;

    WorkerLoop(KafkaConsumer<String, byte[]> consumer, CallRunner runner, int maxInFlight) {
        this.consumer = consumer;
        this.runner = runner;
        this.maxInFlight = Math.max(1, maxInFlight);
        this.room = new Room(inFlight::get, this.maxInFlight);
    }

    int inFlight() {
        return inFlight.get();
    }

    /** Asks the loop to end: it waits up to {@code drain} for running records, commits what is done, and leaves the group. */
    void halt(Duration drain) {
        this.drain = drain;
        running = false;
        consumer.wakeup();
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(AsyncTopics.CALLS), this);
            while (running) {
                try {
                    Duration pollTimeout = room.throttle(consumer, Duration.ofMillis(200));
                    for (ConsumerRecord<String, byte[]> r : consumer.poll(pollTimeout)) take(r);
                    lanes.commitDone(consumer, lanes.owned());
                } catch (WakeupException e) {
                    // halt()
                } catch (RuntimeException e) {
                    LOG.warnf("async worker: %s; going on in 1 s", e.toString());
                    sleep(1000);
                }
            }
            long deadline = System.nanoTime() + drain.toNanos();
            while (inFlight.get() > 0 && System.nanoTime() < deadline) sleep(50);
            try {
                lanes.commitDone(consumer, lanes.owned());
            } catch (RuntimeException e) {
                LOG.infof("async worker: last commit failed (%s); the undone records run again elsewhere", e.toString());
            }
        } finally {
            lanes.dropAll();
            tasks.shutdown(); // no interrupt: a call running now finishes and records its result
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.debugf("closing the async consumer: %s", e.toString());
            }
        }
    }

    private void take(ConsumerRecord<String, byte[]> r) {
        PartitionLanes.Lane lane = lanes.started(new TopicPartition(r.topic(), r.partition()), r.offset());
        if (lane == null) return; // revoked in this very poll
        inFlight.incrementAndGet();
        tasks.execute(() -> process(lane, r));
    }

    private void process(PartitionLanes.Lane lane, ConsumerRecord<String, byte[]> r) {
        try {
            while (!lane.revoked()) {
                try {
                    runner.run(r, lane::revoked);
                    break;
                } catch (RuntimeException e) {
                    // A bug, not an outcome: the record stays uncommitted and is tried again, so it is not lost.
                    LOG.errorf(e, "async call at %s-%d@%d; trying it again in 5 s", r.topic(), r.partition(), r.offset());
                    Thread.sleep(5000);
                }
            }
            lane.finished(r.offset());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            inFlight.decrementAndGet();
            room.freed();
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        lanes.assigned(partitions);
        if (!partitions.isEmpty()) LOG.infof("async worker: took %s", partitions);
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        lanes.handOver(consumer, partitions, "async worker");
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        lanes.lost(partitions, "async worker");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
