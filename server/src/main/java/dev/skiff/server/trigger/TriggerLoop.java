package dev.skiff.server.trigger;

import dev.skiff.invoker.TriggerConfig;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

/**
 * What the two delivery modes of a trigger share: one consumer on its own platform thread (the
 * groups come and go with deployments, so not SmallRye channels), stop on request, the lane a
 * record runs in, and the lag. The KafkaConsumer is not thread-safe: only the loop's thread
 * touches it.
 */
abstract class TriggerLoop implements Runnable {
    private static final Logger LOG = Logger.getLogger(TriggerLoop.class);

    final String function;
    final TriggerConfig trigger;
    final KafkaConsumer<byte[], byte[]> consumer;
    final TriggerCall call;
    final TriggerMetrics metrics;
    volatile boolean running = true;
    volatile Duration drain = Duration.ZERO;
    /** The function is gone: the loop ended on its own, and the manager should not restart it while that lasts. */
    volatile boolean functionGone;
    private volatile long lag;
    private long lagAt;

    TriggerLoop(String function, TriggerConfig trigger, KafkaConsumer<byte[], byte[]> consumer, TriggerCall call, TriggerMetrics metrics) {
        this.function = function;
        this.trigger = trigger;
        this.consumer = consumer;
        this.call = call;
        this.metrics = metrics;
    }

    /** Asks the loop to end: it waits up to {@code drain} for running records, commits what is done, and leaves the group. */
    void halt(Duration drain) {
        this.drain = drain;
        running = false;
        consumer.wakeup();
    }

    /** Records in the assigned partitions not read yet (refreshed at most once a second). */
    long lag() {
        return lag;
    }

    String describe() {
        return function + "/" + trigger.name();
    }

    /**
     * The lane a record waits in: its partition, or its partition and key, or one of its own (see
     * {@link LaneDispatcher}). Keys are compared by content.
     */
    static Object lane(TriggerConfig.Ordering ordering, ConsumerRecord<byte[], byte[]> r) {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        return switch (ordering) {
            case PARTITION -> tp;
            case KEY -> r.key() == null ? LaneDispatcher.ownLane() : List.of(tp, ByteBuffer.wrap(r.key()));
            case NONE -> LaneDispatcher.ownLane();
        };
    }

    /** From the consumer's own view of the log end (no broker call) when it has one, else asks. On the loop's thread only. */
    void refreshLag() {
        long now = System.nanoTime();
        if (now - lagAt < 1_000_000_000L) return;
        lagAt = now;
        try {
            Set<TopicPartition> assigned = consumer.assignment();
            long sum = 0;
            List<TopicPartition> unknown = new ArrayList<>();
            for (TopicPartition tp : assigned) {
                OptionalLong l = consumer.currentLag(tp);
                if (l.isPresent()) sum += l.getAsLong();
                else unknown.add(tp);
            }
            if (!unknown.isEmpty()) {
                Map<TopicPartition, Long> ends = consumer.endOffsets(unknown, Duration.ofSeconds(2));
                for (TopicPartition tp : unknown) {
                    Long end = ends.get(tp);
                    if (end != null) sum += Math.max(0, end - consumer.position(tp, Duration.ofSeconds(2)));
                }
            }
            lag = sum;
        } catch (RuntimeException e) {
            LOG.debugf("trigger %s: lag unknown now (%s)", describe(), e.toString());
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
