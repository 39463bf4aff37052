package dev.skiff.invoker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The replicas of one function on this node and who may use them. A call takes a free slot on
 * a warm replica of the current version; if there is none and the function is below maxScale
 * it starts a replica at once (a cold start, outside the lock); otherwise it waits up to the
 * queue timeout and then gets 429. Replicas of an older version take no new calls and stop
 * when their last call ends.
 */
final class FunctionPool {
    private final String name;
    private final ReplicaLauncher launcher;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition slotFreed = lock.newCondition();
    private final List<Replica> replicas = new ArrayList<>();
    private int starting;
    private int waiting;
    private long calls;
    /** Replicas in a row that failed to start or died on their own; reset by a successful call. */
    private int consecutiveFailures;
    /** stopAll ran: the function is removed or the node stops; a replica that comes up now is stopped at once. */
    private boolean stopped;
    private long noStartBeforeNanos;
    static final long FIRST_BACKOFF_MS = 500;
    static final long MAX_BACKOFF_MS = 30_000;
    private final java.util.function.Consumer<Long> coldStartRecorder;

    private final Duration stopGrace;

    FunctionPool(String name, ReplicaLauncher launcher, Duration stopGrace, java.util.function.Consumer<Long> coldStartRecorder) {
        this.name = name;
        this.stopGrace = stopGrace;
        this.launcher = launcher;
        this.coldStartRecorder = coldStartRecorder;
    }

    /**
     * Takes a slot on a replica running {@code d}, starting one if allowed: while this node has
     * fewer than the function's maxScale replicas and fewer than {@code replicaLimit} (what a
     * gateway leaves this node when other invokers run replicas of the function too), and while
     * {@code memoryFree} (what the node still offers replicas) holds one more. Without a replica
     * and without room the call fails at once (503 no_room): waiting could not help it here.
     */
    Replica acquire(FunctionDeployment d, Duration maxWait, int maxQueued, int replicaLimit, java.util.function.LongSupplier memoryFree)
            throws InvocationException {
        int cap = Math.min(d.config().maxScale(), replicaLimit);
        long deadline = System.nanoTime() + maxWait.toNanos();
        List<Replica> toStop = new ArrayList<>();
        lock.lock();
        try {
            calls++;
            retireOtherVersions(d.version(), toStop);
            while (true) {
                Replica best = null;
                int active = 0;
                for (Replica r : replicas) {
                    if (r.retired || !r.sandbox.isAlive()) continue;
                    active++;
                    if (r.inFlight < d.config().concurrency() && (best == null || r.inFlight < best.inFlight)) best = r;
                }
                if (best != null) {
                    best.inFlight++;
                    return best;
                }
                // Replicas already starting will take this call if enough of their slots are
                // still unclaimed (each serves its starter plus concurrency-1 waiters): starting
                // one more would be a replica nobody needed (50 callers at concurrency 5 -> 10).
                boolean comingSlotFree = waiting < starting * (d.config().concurrency() - 1);
                boolean room = memoryFree.getAsLong() >= d.config().memoryBytes();
                if (!room && active + starting == 0) {
                    throw new InvocationException(503, "no_room", "this invoker has no memory left for a replica of " + name + " ("
                            + (d.config().memoryBytes() >> 20) + " MiB; skiff.replica-memory is what it offers replicas)", 1);
                }
                if (!comingSlotFree && active + starting < cap && room) {
                    long wait = noStartBeforeNanos - System.nanoTime();
                    if (wait > 0 && active + starting == 0) {
                        // A function that keeps crashing backs off instead of spinning sandboxes.
                        long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(wait + 999_999_999L));
                        throw new InvocationException(503, "function_crash_loop", "function " + name + " failed "
                                + consecutiveFailures + " times in a row; the next start is in " + seconds + " s", seconds);
                    }
                    if (wait <= 0) {
                        starting++;
                        break;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new InvocationException(429, "no_capacity", "function " + name + " is at its maxScale of "
                            + d.config().maxScale() + " replicas" + (cap < d.config().maxScale() ? " (across invokers)" : "")
                            + " and no slot freed within " + maxWait.toMillis() + " ms; retry later");
                }
                if (waiting >= maxQueued) {
                    throw new InvocationException(429, "queue_full", "function " + name + " has " + waiting
                            + " calls waiting already (the limit); retry later");
                }
                waiting++;
                try {
                    slotFreed.awaitNanos(left);
                } finally {
                    waiting--;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InvocationException(503, "interrupted", "interrupted while waiting for " + name);
        } finally {
            lock.unlock();
            toStop.forEach(r -> r.drainAndStopInBackground(stopGrace));
        }
        return coldStart(d);
    }

    private Replica coldStart(FunctionDeployment d) throws InvocationException {
        Replica fresh;
        long t0 = System.nanoTime();
        try {
            fresh = launcher.start(d);
        } catch (InvocationException | RuntimeException e) {
            lock.lock();
            try {
                starting--;
                if (e instanceof InvocationException) failed();
                slotFreed.signalAll();
            } finally {
                lock.unlock();
            }
            throw e;
        }
        coldStartRecorder.accept(System.nanoTime() - t0);
        lock.lock();
        try {
            starting--;
            slotFreed.signalAll();
            if (!stopped) {
                fresh.inFlight = 1;
                replicas.add(fresh);
                watchExit(fresh);
                return fresh;
            }
        } finally {
            lock.unlock();
        }
        // The function was removed (stopAll) while this replica started: kept, it would run for ever.
        fresh.stop();
        throw new InvocationException(503, "function_removed", d.name() + " was removed while a replica of it was starting");
    }

    /** Called under the lock when a replica failed to start or died unasked: back off exponentially. */
    private void failed() {
        consecutiveFailures++;
        long backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS << Math.min(16, consecutiveFailures - 1));
        if (consecutiveFailures >= 2) noStartBeforeNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff);
    }

    private void watchExit(Replica r) {
        r.sandbox.onExit().thenRun(() -> {
            lock.lock();
            try {
                if (!r.stopping) failed();
                replicas.remove(r);
                slotFreed.signalAll();
            } finally {
                lock.unlock();
            }
        });
    }

    /** Gives a slot back; a replica that failed, or an old version with nothing left to do, is stopped. */
    void release(Replica r, boolean healthy) {
        boolean stop;
        boolean drain;
        lock.lock();
        try {
            r.inFlight--;
            r.lastUsedNanos = System.nanoTime();
            if (healthy) {
                consecutiveFailures = 0;
                noStartBeforeNanos = 0;
            }
            drain = healthy && r.retired && r.inFlight == 0;
            stop = !healthy;
            if (stop || drain) replicas.remove(r);
            slotFreed.signalAll();
        } finally {
            lock.unlock();
        }
        if (stop) r.stop();
        else if (drain) r.drainAndStopInBackground(stopGrace);
    }

    private void retireOtherVersions(long version, List<Replica> toStop) {
        retireWhere(v -> v != version, toStop);
    }

    /**
     * Retires the replicas of one version (they drain and stop): the function catalog moved this
     * node's upload away from that number, which now names another gateway's code.
     */
    void retireVersion(long version) {
        List<Replica> toStop = new ArrayList<>();
        lock.lock();
        try {
            retireWhere(v -> v == version, toStop);
        } finally {
            lock.unlock();
        }
        toStop.forEach(r -> r.drainAndStopInBackground(stopGrace));
    }

    private void retireWhere(java.util.function.LongPredicate versionRetires, List<Replica> toStop) {
        for (var it = replicas.iterator(); it.hasNext(); ) {
            Replica r = it.next();
            if (!versionRetires.test(r.deployment.version())) continue;
            r.retired = true;
            if (r.inFlight == 0) {
                it.remove();
                toStop.add(r);
            }
        }
    }

    /**
     * When the least recently used idle replica beyond minScale was last used (System.nanoTime),
     * or empty when there is none: what another function's cold start may stop to make room.
     */
    java.util.OptionalLong oldestIdleSince(long idleSinceBefore) {
        lock.lock();
        try {
            Replica r = oldestEvictable(idleSinceBefore);
            return r == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(r.lastUsedNanos);
        } finally {
            lock.unlock();
        }
    }

    /** Stops the least recently used idle replica beyond minScale; false when there is none (any more). */
    boolean evictOldestIdle(long idleSinceBefore) {
        Replica r;
        lock.lock();
        try {
            r = oldestEvictable(idleSinceBefore);
            if (r == null) return false;
            replicas.remove(r);
        } finally {
            lock.unlock();
        }
        org.jboss.logging.Logger.getLogger(FunctionPool.class).infof("stopping idle replica %s to make room for another function", r.id);
        r.drainAndStopInBackground(stopGrace);
        return true;
    }

    /** How many replicas {@link #evictOldestIdle} could stop one after the other now. */
    int evictableCount(long idleSinceBefore) {
        lock.lock();
        try {
            int live = 0, idleLive = 0, idleRetired = 0;
            for (Replica r : replicas) {
                if (!r.retired) live++;
                if (r.inFlight > 0 || r.lastUsedNanos - idleSinceBefore > 0) continue;
                if (r.retired) idleRetired++;
                else idleLive++;
            }
            int minScale = replicas.isEmpty() ? 0 : replicas.get(0).deployment.config().minScale();
            return idleRetired + Math.min(idleLive, Math.max(0, live - minScale));
        } finally {
            lock.unlock();
        }
    }

    /** Idle since before {@code idleSinceBefore} (System.nanoTime) and beyond minScale, the least recently used first. */
    private Replica oldestEvictable(long idleSinceBefore) {
        int live = (int) replicas.stream().filter(r -> !r.retired).count();
        Replica oldest = null;
        for (Replica r : replicas) {
            if (r.inFlight > 0 || r.lastUsedNanos - idleSinceBefore > 0 || (!r.retired && live <= r.deployment.config().minScale())) continue;
            if (oldest == null || r.lastUsedNanos < oldest.lastUsedNanos) oldest = r;
        }
        return oldest;
    }

    /** True when a running replica has a free slot (a call needs no new replica). */
    boolean hasFreeSlot() {
        lock.lock();
        try {
            for (Replica r : replicas) {
                if (!r.retired && r.sandbox.isAlive() && r.inFlight < r.deployment.config().concurrency()) return true;
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Stops replicas idle for longer than their function's idleTimeout, keeping minScale of them. */
    void reapIdle(long nowNanos) {
        List<Replica> idle = new ArrayList<>();
        lock.lock();
        try {
            int live = (int) replicas.stream().filter(r -> !r.retired).count();
            for (var it = replicas.iterator(); it.hasNext(); ) {
                Replica r = it.next();
                long idleFor = nowNanos - r.lastUsedNanos;
                if (!r.retired && live <= r.deployment.config().minScale()) continue;
                if (r.inFlight == 0 && idleFor >= r.deployment.config().idleTimeout().toNanos()) {
                    if (!r.retired) live--;
                    it.remove();
                    idle.add(r);
                }
            }
        } finally {
            lock.unlock();
        }
        for (Replica r : idle) {
            org.jboss.logging.Logger.getLogger(FunctionPool.class).infof("stopping idle replica %s", r.id);
            r.drainAndStopInBackground(stopGrace);
        }
    }

    /**
     * Stops every replica: in-flight calls may finish (until {@code drain}), then each replica
     * gets SIGTERM and its grace period, all in parallel; returns when all are gone.
     */
    void stopAll(Duration drain) {
        long deadline = System.nanoTime() + drain.toNanos();
        List<Replica> all;
        lock.lock();
        try {
            stopped = true; // replicas still starting stop themselves when they are up
            replicas.forEach(r -> r.retired = true);
            while (replicas.stream().anyMatch(r -> r.inFlight > 0) && System.nanoTime() < deadline) {
                slotFreed.await(50, TimeUnit.MILLISECONDS);
            }
            all = new ArrayList<>(replicas);
            replicas.clear();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            all = new ArrayList<>(replicas);
            replicas.clear();
        } finally {
            lock.unlock();
        }
        List<Thread> stopping = new ArrayList<>();
        for (Replica r : all) stopping.add(Thread.ofVirtual().start(() -> r.drainAndStop(stopGrace)));
        for (Thread t : stopping) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                all.forEach(Replica::stop);
                return;
            }
        }
    }

    /**
     * Starts replicas of {@code d} in the background until minScale of them exist (counting
     * those starting). Failures count toward the crash backoff like any cold start.
     */
    void ensureMinimum(FunctionDeployment d) {
        int missing;
        lock.lock();
        try {
            int live = (int) replicas.stream().filter(r -> !r.retired && r.deployment.version() == d.version()).count();
            missing = System.nanoTime() < noStartBeforeNanos ? 0 : d.config().minScale() - live - starting;
            if (missing > 0) starting += missing;
        } finally {
            lock.unlock();
        }
        startInBackground(d, Math.max(0, missing), "prewarm-");
    }

    /**
     * Converges toward the autoscaler's decision: starts the missing replicas of {@code d} in the
     * background (bounded by maxScale; failures count toward the crash backoff), or stops surplus
     * replicas that are idle right now. A replica with a call in flight is never stopped (it is
     * taken out of the pool only while idle, under the lock, so no call can pick it afterwards);
     * never below minScale. Returns the change asked for: replicas started (positive) or stopped
     * (negative).
     */
    int scaleTo(FunctionDeployment d, int desired, java.util.function.LongSupplier memoryFree) {
        int target = Math.max(d.config().minScale(), Math.min(d.config().maxScale(), desired));
        int missing;
        List<Replica> surplus = new ArrayList<>();
        lock.lock();
        try {
            List<Replica> live = replicas.stream()
                    .filter(r -> !r.retired && r.sandbox.isAlive() && r.deployment.version() == d.version()).toList();
            boolean backingOff = System.nanoTime() < noStartBeforeNanos;
            missing = backingOff ? 0 : target - live.size() - starting;
            // Ahead of calls, only what the node's memory budget holds (as for a call's cold start).
            if (missing > 0) missing = (int) Math.min(missing, Math.max(0, memoryFree.getAsLong() / d.config().memoryBytes()));
            if (missing > 0) {
                starting += missing;
            } else if (live.size() > target) {
                // The longest idle go first: the warm ones keep their caches.
                List<Replica> idle = live.stream().filter(r -> r.inFlight == 0)
                        .sorted(java.util.Comparator.comparingLong(r -> r.lastUsedNanos)).toList();
                for (Replica r : idle.subList(0, Math.min(idle.size(), live.size() - target))) {
                    replicas.remove(r);
                    surplus.add(r);
                }
            }
        } finally {
            lock.unlock();
        }
        startInBackground(d, Math.max(0, missing), "scale-up-");
        for (Replica r : surplus) {
            org.jboss.logging.Logger.getLogger(FunctionPool.class).debugf("scaling down: stopping idle replica %s", r.id);
            r.drainAndStopInBackground(stopGrace);
        }
        return missing > 0 ? missing : -surplus.size();
    }

    /** Cold-starts {@code count} replicas (already counted in {@code starting}) on virtual threads. */
    private void startInBackground(FunctionDeployment d, int count, String threadPrefix) {
        for (int i = 0; i < count; i++) {
            Thread.ofVirtual().name(threadPrefix + name).start(() -> {
                try {
                    Replica r = coldStart(d);
                    release(r, true); // coldStart hands the new replica over with one slot taken
                } catch (InvocationException e) {
                    // Once the function is removed, a start that fails (its code is gone) is expected.
                    org.jboss.logging.Logger.getLogger(FunctionPool.class).logf(stopped() ? org.jboss.logging.Logger.Level.DEBUG
                            : org.jboss.logging.Logger.Level.WARN, "starting a replica of %s ahead of calls: %s", name, e.getMessage());
                }
            });
        }
    }

    private boolean stopped() {
        lock.lock();
        try {
            return stopped;
        } finally {
            lock.unlock();
        }
    }

    /** Replicas in a row that failed to start or died on their own; 0 once a call succeeds. */
    int consecutiveFailures() {
        lock.lock();
        try {
            return consecutiveFailures;
        } finally {
            lock.unlock();
        }
    }

    /** What the pool looks like now; calls counts every call ever taken. */
    record Counts(int replicas, int starting, int inFlight, int waiting, long calls) {}

    /**
     * Replicas running or starting, read without the lock: an estimate for the node's memory
     * budget, which other pools read while holding their own locks (taking this one there could
     * deadlock two pools). An int read is never torn; at worst it is a moment old.
     */
    int occupiedEstimate() {
        return replicas.size() + starting;
    }

    Counts counts() {
        lock.lock();
        try {
            int inFlight = replicas.stream().mapToInt(r -> r.inFlight).sum();
            return new Counts(replicas.size(), starting, inFlight, waiting, calls);
        } finally {
            lock.unlock();
        }
    }

    /** Resource use summed over the replicas (reads their cgroups). */
    dev.skiff.sandbox.SandboxStats stats() {
        List<Replica> snapshot;
        lock.lock();
        try {
            snapshot = new ArrayList<>(replicas);
        } finally {
            lock.unlock();
        }
        long mem = 0, peak = 0, cpu = 0, oom = 0;
        for (Replica r : snapshot) {
            var s = r.sandbox.stats();
            mem += s.memoryBytes();
            peak += s.memoryPeakBytes();
            cpu += s.cpuNanos();
            oom += s.oomKills();
        }
        return new dev.skiff.sandbox.SandboxStats(mem, peak, cpu, oom);
    }

    /** Host PIDs of the replicas' inits, for tests and debugging. */
    List<Long> pids() {
        lock.lock();
        try {
            return replicas.stream().map(r -> r.sandbox.pid()).toList();
        } finally {
            lock.unlock();
        }
    }
}
