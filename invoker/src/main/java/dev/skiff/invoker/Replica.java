package dev.skiff.invoker;

import dev.skiff.invoker.http.UnixHttpConnection;
import dev.skiff.sandbox.Sandbox;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * One warm sandbox of a function with its open connections. Slot accounting (how many calls
 * it serves now) belongs to {@link FunctionPool} and is guarded by the pool's lock.
 */
final class Replica {
    final String id;
    final FunctionDeployment deployment;
    final Sandbox sandbox;
    final Path socket;
    final Path socketDir;
    final OutputTail output;
    private final ConcurrentLinkedDeque<UnixHttpConnection> idleConnections = new ConcurrentLinkedDeque<>();

    /** The call being served, when the replica serves one at a time; tags its output lines. */
    volatile String currentCallId;

    /** Set when Skiff itself stops the replica, so its exit is not counted as a crash. */
    volatile boolean stopping;

    int inFlight;
    long lastUsedNanos = System.nanoTime();
    boolean retired;

    Replica(String id, FunctionDeployment deployment, Sandbox sandbox, Path socketDir, OutputTail output) {
        this.id = id;
        this.deployment = deployment;
        this.sandbox = sandbox;
        this.socketDir = socketDir;
        this.socket = socketDir.resolve("fn.sock");
        this.output = output;
    }

    UnixHttpConnection connection() throws IOException {
        UnixHttpConnection c = idleConnections.pollFirst();
        return c != null ? c : UnixHttpConnection.open(socket);
    }

    void giveBack(UnixHttpConnection c) {
        if (c.reusable()) idleConnections.addFirst(c);
        else c.close();
    }

    /**
     * Graceful stop for a replica with no call in flight: SIGTERM (the FDK stops accepting and
     * finishes what it has), then SIGKILL if it has not exited within {@code grace}.
     */
    void drainAndStop(java.time.Duration grace) {
        stopping = true;
        for (UnixHttpConnection c; (c = idleConnections.poll()) != null; ) c.close();
        sandbox.signal(dev.skiff.sandbox.Linux.SIGTERM);
        try {
            sandbox.onExit().get(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            org.jboss.logging.Logger.getLogger(Replica.class).infof("replica %s ignored SIGTERM for %s; killing it", id, grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException ignored) {
            // exited anyway
        }
        stop();
    }

    /** Same, without waiting for the caller: for idle reaping, scale-down and old versions. */
    void drainAndStopInBackground(java.time.Duration grace) {
        Thread.ofVirtual().name("drain-" + id).start(() -> drainAndStop(grace));
    }

    /** Kills the replica at once (it crashed, timed out, or is being replaced). */
    void stop() {
        stopping = true;
        for (UnixHttpConnection c; (c = idleConnections.poll()) != null; ) c.close();
        try {
            sandbox.destroy();
        } catch (IOException e) {
            org.jboss.logging.Logger.getLogger(Replica.class).warnf("replica %s: teardown incomplete: %s", id, e.getMessage());
        }
        ReplicaLauncher.deleteQuietly(socketDir);
    }
}
