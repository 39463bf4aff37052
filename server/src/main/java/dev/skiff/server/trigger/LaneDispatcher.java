package dev.skiff.server.trigger;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Decides when a taken record may start, as pure bookkeeping (no threads, no Kafka), so the
 * ordering rules are unit-tested on their own. Each record belongs to a lane; a lane runs one
 * record at a time, in the order they were submitted, and at most {@code concurrency} records
 * run at once over all lanes. The trigger's ordering picks the lane: the partition
 * ({@code partition}), partition + key ({@code key}), or a lane of its own ({@code none}, and a
 * record without a key under {@code key}: no key, nothing to keep in order).
 *
 * <p>A record keeps its lane while it is retried (it is "running" until it is finished), so the
 * records behind it wait: retries happen in place and never reorder a key or a partition.
 * Thread-safe; {@code start} is called under the lock and must only hand the record off.
 */
public final class LaneDispatcher<T> {
    private final int concurrency;
    private final Consumer<T> start;
    /** Lanes with a record running or waiting; the head of each queue is the running or next one. */
    private final Map<Object, ArrayDeque<T>> lanes = new HashMap<>();
    /** Lanes whose head may start, oldest first (fairness between keys). */
    private final ArrayDeque<Object> ready = new ArrayDeque<>();
    private int running;
    private int held;

    public LaneDispatcher(int concurrency, Consumer<T> start) {
        this.concurrency = Math.max(1, concurrency);
        this.start = start;
    }

    /** A lane key for a record that needs no order (each call makes a new one). */
    public static Object ownLane() {
        return new Object();
    }

    public synchronized void submit(Object lane, T item) {
        held++;
        ArrayDeque<T> queue = lanes.get(lane);
        if (queue != null) {
            queue.add(item); // behind the lane's running or waiting records
            return;
        }
        queue = new ArrayDeque<>();
        queue.add(item);
        lanes.put(lane, queue);
        ready.add(lane);
        pump();
    }

    /** The lane's running record is done: the next of that lane (or of another) may start. */
    public synchronized void finished(Object lane) {
        ArrayDeque<T> queue = lanes.get(lane);
        if (queue == null || queue.isEmpty()) throw new IllegalStateException("nothing runs in lane " + lane);
        queue.poll();
        running--;
        held--;
        if (queue.isEmpty()) lanes.remove(lane);
        else ready.add(lane);
        pump();
    }

    /** Records submitted and not finished (running or waiting): what the consumer holds. */
    public synchronized int held() {
        return held;
    }

    public synchronized int running() {
        return running;
    }

    private void pump() {
        while (running < concurrency && !ready.isEmpty()) {
            Object lane = ready.poll();
            running++;
            start.accept(lanes.get(lane).peek());
        }
    }
}
