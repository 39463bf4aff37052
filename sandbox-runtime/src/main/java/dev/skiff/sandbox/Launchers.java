package dev.skiff.sandbox;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads that make sandboxes. A launcher is a platform thread that unshares a sandbox's
 * namespaces (which moves only that thread), runs one {@link Job} in them (build the root
 * filesystem, spawn skiff-init) and ends; the namespaces live on in the sandbox.
 *
 * <p>Starting a thread and unsharing a network and a PID namespace cost about 1.2 ms of a
 * 9 ms sandbox start on our 2-vCPU machines, and neither depends on the sandbox. So up to
 * {@code ready} launchers do both ahead of time and park; {@link #launch} hands its job to a
 * parked one, and the caller starts a replacement with {@link #refill} once its start is past
 * the critical part (starting a thread costs ~0.5 ms, and a launcher cannot start threads: the
 * kernel refuses CLONE_THREAD to a thread that unshared its PID namespace). When none is parked
 * (a burst of starts), the job runs on a fresh thread that unshares first, as a parked one did.
 */
final class Launchers implements AutoCloseable {
    static final int NAMESPACES = Linux.CLONE_NEWNS | Linux.CLONE_NEWUTS | Linux.CLONE_NEWIPC
            | Linux.CLONE_NEWNET | Linux.CLONE_NEWPID;

    /** What a launcher does inside its fresh namespaces. */
    interface Job {
        Spawn.Child run(Syscalls sys) throws Exception;
    }

    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private final int ready;
    private final ConcurrentLinkedQueue<Parked> parked = new ConcurrentLinkedQueue<>();
    /** Parked plus still unsharing, so a burst of launches does not start a refill per launch. */
    private final AtomicInteger parkedOrComing = new AtomicInteger();
    private volatile boolean closed;

    /** @param ready how many launchers to keep parked (0: every job unshares on a fresh thread) */
    Launchers(int ready) {
        if (ready < 0) throw new IllegalArgumentException("ready launchers must be >= 0: " + ready);
        this.ready = ready;
        refill();
    }

    /** Runs {@code job} in fresh namespaces; the future completes with what it spawned or why it failed. */
    CompletableFuture<Spawn.Child> launch(Job job) {
        CompletableFuture<Spawn.Child> result = new CompletableFuture<>();
        Parked p = parked.poll();
        if (p != null) {
            parkedOrComing.decrementAndGet();
            p.work.complete(new Work(job, result));
        } else {
            start(new Work(job, result));
        }
        return result;
    }

    /** Parked launchers end without running anything; their namespaces go with them. */
    @Override
    public void close() {
        closed = true;
        for (Parked p; (p = parked.poll()) != null; ) p.work.complete(null);
    }

    /** Starts launchers in the background until {@code ready} are parked or coming. */
    void refill() {
        while (!closed) {
            int n = parkedOrComing.get();
            if (n >= ready) return;
            if (parkedOrComing.compareAndSet(n, n + 1)) start(null);
        }
    }

    private record Work(Job job, CompletableFuture<Spawn.Child> result) {}

    private static final class Parked {
        final CompletableFuture<Work> work = new CompletableFuture<>();
    }

    /** Starts a launcher that runs {@code work}, or parks until given work when it is null. */
    private void start(Work work) {
        Thread.ofPlatform().daemon().name("sandbox-launcher-" + SEQUENCE.incrementAndGet()).start(() -> {
            try {
                NativeSyscalls.INSTANCE.unshare(NAMESPACES);
            } catch (Throwable t) {
                if (work != null) {
                    work.result.completeExceptionally(t);
                } else {
                    // A failed ahead-of-time unshare parks nothing; the next launch unshares itself and reports.
                    parkedOrComing.decrementAndGet();
                }
                return;
            }
            Work todo = work;
            if (todo == null) {
                Parked p = new Parked();
                parked.add(p);
                if (closed) close();
                todo = p.work.join();
                if (todo == null) return;
            }
            try {
                todo.result.complete(todo.job.run(NativeSyscalls.INSTANCE));
            } catch (Throwable t) {
                todo.result.completeExceptionally(t);
            }
        });
    }
}
