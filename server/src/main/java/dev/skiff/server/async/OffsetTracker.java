package dev.skiff.server.async;

import java.util.TreeSet;

/**
 * The commit point of one partition whose records finish out of order (calls run in parallel).
 * Kafka keeps one offset per partition, "everything before this is done", so the commit may
 * only move up to the oldest record still pending: a call that finished after a slower one
 * before it is committed only once the slower one is done too. A crash re-delivers from the
 * commit point, so a record is never skipped (at-least-once; the finished ones after it run again).
 * Not thread-safe: the caller synchronizes.
 */
public final class OffsetTracker {
    private final TreeSet<Long> pending = new TreeSet<>();
    private long next = -1;
    private long committed = -1;

    /** A record handed out for processing. Offsets come in increasing order. */
    public void started(long offset) {
        pending.add(offset);
        next = Math.max(next, offset + 1);
    }

    /** The record is done: its outcome is safe on the broker. */
    public void finished(long offset) {
        pending.remove(offset);
    }

    public int pending() {
        return pending.size();
    }

    /** The offset to commit (the next record to read after a restart), or -1 when nothing new is done since the last commit. */
    public long toCommit() {
        long point = pending.isEmpty() ? next : pending.first();
        return point > committed ? point : -1;
    }

    public void committed(long offset) {
        committed = Math.max(committed, offset);
    }
}
