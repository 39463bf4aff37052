package dev.skiff.server.async;

import java.time.Duration;
import java.util.function.IntSupplier;
import org.apache.kafka.clients.consumer.Consumer;

/**
 * How a consumer thread holds back while it holds as many records as it may: it waits until a
 * record is done, then pauses its partitions if it is still full and resumes them if not. It
 * does not wait in {@code poll}: with its partitions paused, a poll returns nothing until its
 * timeout, so the consumer took in at most its limit per poll timeout (a trigger with a limit
 * of 160 records ran at 950 records/s whatever its function's speed).
 */
public final class Room {
    private final IntSupplier held;
    private final int limit;

    public Room(IntSupplier held, int limit) {
        this.held = held;
        this.limit = limit;
    }

    public boolean full() {
        return held.getAsInt() >= limit;
    }

    /** A record (or batch) is done: wakes the consumer thread if it waits for room. */
    public synchronized void freed() {
        notifyAll();
    }

    /**
     * Waits up to {@code pollTimeout} for room while full, then pauses or resumes the consumer's
     * partitions. Returns how long the next poll may wait: zero while still full (the poll only
     * keeps the consumer in its group), else {@code pollTimeout}.
     */
    public Duration throttle(Consumer<?, ?> consumer, Duration pollTimeout) {
        long end = System.nanoTime() + pollTimeout.toNanos();
        synchronized (this) {
            try {
                for (long left; full() && (left = end - System.nanoTime()) > 0; ) {
                    wait(Math.max(1, left / 1_000_000));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        boolean full = full();
        PartitionLanes.throttle(consumer, full);
        return full ? Duration.ZERO : pollTimeout;
    }
}
