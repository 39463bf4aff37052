package dev.skiff.server.trigger;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Decides when taken records may start, as pure bookkeeping (no threads, no Kafka), so the
 * ordering rules are unit-tested on their own. Each record belongs to a lane; a lane has at most
 * one batch running, and its records start in the order they were submitted; at most
 * {@code concurrency} batches run at once over all lanes. The trigger's ordering picks the lane:
 * the partition ({@code partition}), partition + key ({@code key}), or a lane of its own
 * ({@code none}, and a record without a key under {@code key}: no key, nothing to keep in order).
 *
 * <p>A batch is what is waiting when a slot frees, up to {@code batchSize} records: the waiting
 * records of the oldest ready lanes, a lane's in their order. So batches are as big as the
 * backlog makes them (one record when the topic is quiet, full ones behind a backlog), and a
 * batch never waits to fill. With a batch size of 1 a batch is one record.
 *
 * <p>A batch keeps its lanes while it is retried (it is "running" until it is finished), so the
 * records behind it wait: retries happen in place and never reorder a key or a partition.
 * Thread-safe; {@code start} is called under the lock and must only hand the batch off.
 */
public final class LaneDispatcher<T> {
    /** Records that start together, and the lanes they hold until {@link #finished}. */
    public record Batch<T>(List<T> items, List<Object> lanes) {}

    private static final class Lane<T> {
        final ArrayDeque<T> waiting = new ArrayDeque<>();
        boolean running;
    }

    private final int concurrency;
    private final int batchSize;
    private final Consumer<Batch<T>> start;
    /** Lanes with a batch running or records waiting. */
    private final Map<Object, Lane<T>> lanes = new HashMap<>();
    /** Lanes not running with records waiting, oldest first (fairness between keys). */
    private final ArrayDeque<Object> ready = new ArrayDeque<>();
    private int running;
    private int held;

    public LaneDispatcher(int concurrency, int batchSize, Consumer<Batch<T>> start) {
        this.concurrency = Math.max(1, concurrency);
        this.batchSize = Math.max(1, batchSize);
        this.start = start;
    }

    /** A lane key for a record that needs no order (each call makes a new one). */
    public static Object ownLane() {
        return new Object();
    }

    public synchronized void submit(Object laneKey, T item) {
        held++;
        Lane<T> lane = lanes.computeIfAbsent(laneKey, k -> new Lane<>());
        lane.waiting.add(item);
        if (!lane.running && lane.waiting.size() == 1) ready.add(laneKey);
        pump();
    }

    /** The batch is done: its lanes' next records (or other lanes') may start. */
    public synchronized void finished(Batch<T> batch) {
        for (Object laneKey : batch.lanes()) {
            Lane<T> lane = lanes.get(laneKey);
            if (lane == null || !lane.running) throw new IllegalStateException("nothing runs in lane " + laneKey);
            lane.running = false;
            if (lane.waiting.isEmpty()) lanes.remove(laneKey);
            else ready.add(laneKey);
        }
        running--;
        held -= batch.items().size();
        pump();
    }

    /** Records submitted and not finished (running or waiting): what the consumer holds. */
    public synchronized int held() {
        return held;
    }

    /** Batches running. */
    public synchronized int running() {
        return running;
    }

    private void pump() {
        while (running < concurrency && !ready.isEmpty()) {
            List<T> items = new ArrayList<>();
            List<Object> taken = new ArrayList<>();
            while (items.size() < batchSize && !ready.isEmpty()) {
                Object laneKey = ready.poll();
                Lane<T> lane = lanes.get(laneKey);
                lane.running = true;
                taken.add(laneKey);
                // What is left of the lane when the batch is full waits for the batch: order.
                while (items.size() < batchSize && !lane.waiting.isEmpty()) items.add(lane.waiting.poll());
            }
            running++;
            start.accept(new Batch<>(List.copyOf(items), List.copyOf(taken)));
        }
    }
}
