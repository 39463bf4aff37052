package dev.skiff.server.async;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The partitions a consumer owns right now, each with its {@link OffsetTracker} and a revoked
 * flag, and the commit of what is done: shared by the async worker and the Kafka triggers, whose
 * records both finish out of order on other threads. When a partition goes (rebalance, stop),
 * its lane is marked revoked: records of it still running must not write or commit anything
 * the next owner will redo, and a late finish no longer moves any commit point.
 */
public final class PartitionLanes {
    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(PartitionLanes.class);

    /** A partition while this consumer owns it; {@code revoked} tells its running records to stand down. */
    public static final class Lane {
        private final OffsetTracker tracker = new OffsetTracker();
        private volatile boolean revoked;

        public boolean revoked() {
            return revoked;
        }

        /** The record's outcome is safe on the broker: its offset may be committed (once those before it are too). */
        public void finished(long offset) {
            synchronized (this) {
                tracker.finished(offset);
            }
        }

        synchronized int pending() {
            return tracker.pending();
        }
    }

    private final Map<TopicPartition, Lane> lanes = new ConcurrentHashMap<>();

    public void assigned(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) lanes.put(tp, new Lane());
    }

    /** Forgets partitions (after their last commit, or lost): their running records stand down. */
    public void drop(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            Lane lane = lanes.remove(tp);
            if (lane != null) lane.revoked = true;
        }
    }

    public void dropAll() {
        drop(Set.copyOf(lanes.keySet()));
    }

    public Set<TopicPartition> owned() {
        return lanes.keySet();
    }

    /** A record taken for processing; null when its partition was revoked in this very poll. */
    public Lane started(TopicPartition tp, long offset) {
        Lane lane = lanes.get(tp);
        if (lane == null) return null;
        synchronized (lane) {
            lane.tracker.started(offset);
        }
        return lane;
    }

    /** Commits, for each partition, up to its oldest record not yet done; only the consumer's own thread calls this. */
    public void commitDone(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : partitions) {
            Lane lane = lanes.get(tp);
            if (lane == null) continue;
            long point;
            synchronized (lane) {
                point = lane.tracker.toCommit();
            }
            if (point >= 0) offsets.put(tp, new OffsetAndMetadata(point));
        }
        if (offsets.isEmpty()) return;
        consumer.commitSync(offsets, Duration.ofSeconds(5));
        for (var e : offsets.entrySet()) {
            Lane lane = lanes.get(e.getKey());
            if (lane == null) continue;
            synchronized (lane) {
                lane.tracker.committed(e.getValue().offset());
            }
        }
    }

    /**
     * Partitions going to another consumer (or this one stopping): commits what is done there, so
     * the next owner does not redo it, then drops their lanes; records still running there are
     * redone by the next owner (at-least-once). {@code who} names the consumer in the log.
     */
    public void handOver(Consumer<?, ?> consumer, Collection<TopicPartition> partitions, String who) {
        try {
            commitDone(consumer, partitions);
        } catch (RuntimeException e) {
            LOG.infof("%s: commit on revocation failed (%s)", who, e.toString());
        }
        lost(partitions, who);
    }

    /** Partitions another member owns already (committing would be refused): their lanes are dropped. */
    public void lost(Collection<TopicPartition> partitions, String who) {
        drop(partitions);
        if (!partitions.isEmpty()) LOG.infof("%s: gave up %s", who, partitions);
    }

    /** Pauses fetching while {@code full} (records held at the limit), resumes once not: the consumer keeps polling, so it stays in its group. */
    public static void throttle(Consumer<?, ?> consumer, boolean full) {
        if (full) {
            consumer.pause(consumer.assignment());
        } else if (!consumer.paused().isEmpty()) {
            consumer.resume(consumer.paused());
        }
    }
}
