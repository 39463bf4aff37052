package dev.skiff.invoker;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * What functions printed: a bounded buffer of recent lines per function, plus followers. A
 * function never waits for a reader: a follower whose queue is full loses lines, and the loss
 * is counted (per follower, and per function).
 */
public final class FunctionLogs {
    /** One line a function printed, with where and when. {@code callId} is null when unknown. */
    public record Line(Instant time, String function, String replica, String stream, String callId, String text) {
        public String format() {
            return time + " " + replica + " " + stream + (callId == null ? "" : " [" + callId + "]") + " " + text;
        }
    }

    /** A reader of new lines; close it when done. */
    public final class Follower implements AutoCloseable {
        private final String function;
        private final BlockingQueue<Line> queue;
        private final AtomicLong dropped = new AtomicLong();

        private Follower(String function, int capacity) {
            this.function = function;
            this.queue = new ArrayBlockingQueue<>(capacity);
        }

        public BlockingQueue<Line> lines() {
            return queue;
        }

        public long dropped() {
            return dropped.get();
        }

        private void offer(Line line) {
            if (!queue.offer(line)) {
                dropped.incrementAndGet();
                functionDropped.computeIfAbsent(function, f -> new AtomicLong()).incrementAndGet();
            }
        }

        @Override
        public void close() {
            Set<Follower> set = followers.get(function);
            if (set != null) set.remove(this);
        }
    }

    private final int linesPerFunction;
    private final Map<String, ArrayDeque<Line>> recent = new ConcurrentHashMap<>();
    private final Map<String, Set<Follower>> followers = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> functionDropped = new ConcurrentHashMap<>();
    private final List<Consumer<Line>> listeners = new CopyOnWriteArrayList<>();

    public FunctionLogs(int linesPerFunction) {
        this.linesPerFunction = linesPerFunction;
    }

    public void append(Line line) {
        ArrayDeque<Line> ring = recent.computeIfAbsent(line.function(), f -> new ArrayDeque<>());
        synchronized (ring) {
            if (ring.size() == linesPerFunction) ring.removeFirst();
            ring.addLast(line);
        }
        Set<Follower> fs = followers.get(line.function());
        if (fs != null) for (Follower f : fs) f.offer(line);
        for (Consumer<Line> l : listeners) l.accept(line);
    }

    /**
     * Hands every line appended from now on to {@code listener}, on the appending thread (a
     * replica's output pump): it must not block or throw, or the function's output would stall.
     */
    public void onAppend(Consumer<Line> listener) {
        listeners.add(listener);
    }

    /** The last {@code n} lines of a function, oldest first. */
    public List<Line> tail(String function, int n) {
        ArrayDeque<Line> ring = recent.get(function);
        if (ring == null) return List.of();
        synchronized (ring) {
            List<Line> all = new ArrayList<>(ring);
            return all.subList(Math.max(0, all.size() - n), all.size());
        }
    }

    public Follower follow(String function, int capacity) {
        Follower f = new Follower(function, capacity);
        followers.computeIfAbsent(function, k -> new CopyOnWriteArraySet<>()).add(f);
        return f;
    }

    /** Lines lost by slow followers of a function. */
    public long dropped(String function) {
        AtomicLong d = functionDropped.get(function);
        return d == null ? 0 : d.get();
    }

    /** Forgets a deleted function's lines. */
    public void forget(String function) {
        recent.remove(function);
    }
}
