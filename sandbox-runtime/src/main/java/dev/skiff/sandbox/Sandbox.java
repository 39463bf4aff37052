package dev.skiff.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A running sandbox: its PID 1 (skiff-init) as seen from the host, its stdio, its cgroup.
 * {@link #destroy()} leaves nothing behind: no process (the PID namespace dies with its init),
 * no mount (they live only in the sandbox's mount namespace), no cgroup.
 */
public final class Sandbox implements AutoCloseable {
    /** How the sandbox ended. {@code code} is the function's exit status, 128+signal if killed. */
    public record Exit(int code, boolean oomKilled, boolean setupFailed) {
        public String describe() {
            if (oomKilled) return "ran out of memory (killed by the memory limit)";
            if (setupFailed) return "could not be set up";
            if (code > 128) return "was killed by signal " + (code - 128);
            return "exited with status " + code;
        }
    }

    private final String id;
    private final long pid;
    private final InputStream stdout;
    private final InputStream stderr;
    private final Cgroups.Cgroup cgroup;
    private final CompletableFuture<Exit> exit;
    private final AtomicBoolean destroyed = new AtomicBoolean();
    private volatile long networkHelperPid;

    Sandbox(String id, Spawn.Child init, Cgroups.Cgroup cgroup) {
        this.id = id;
        this.pid = init.pid();
        this.stdout = init.stdout();
        this.stderr = init.stderr();
        this.cgroup = cgroup;
        // ProcessHandle waits without reaping (waitid + WNOWAIT); we reap to read the status.
        this.exit = ProcessHandle.of(pid)
                .map(ProcessHandle::onExit)
                .orElse(CompletableFuture.completedFuture(null))
                .thenApply(ignored -> {
                    int code = Spawn.reap(pid);
                    boolean oom = cgroup.stats().oomKills() > 0;
                    return new Exit(code, oom, code == 125);
                });
    }

    public String id() {
        return id;
    }

    /** Host PID of the sandbox's init. */
    public long pid() {
        return pid;
    }

    public InputStream stdout() {
        return stdout;
    }

    public InputStream stderr() {
        return stderr;
    }

    public boolean isAlive() {
        return !exit.isDone();
    }

    public CompletableFuture<Exit> onExit() {
        return exit;
    }

    public SandboxStats stats() {
        return cgroup.stats();
    }

    /** Sends a signal to the sandbox's init, which passes it on to the function. */
    public void signal(int signal) {
        if (!exit.isDone()) NativeSyscalls.kill(pid, signal);
    }

    /** A host-side helper (slirp4netns) that lives and dies with this sandbox. */
    void attachNetworkHelper(long pid) {
        networkHelperPid = pid;
    }

    /** Kills everything in the sandbox and removes every trace of it. Idempotent. */
    public void destroy() throws IOException {
        if (!destroyed.compareAndSet(false, true)) return;
        signal(Linux.SIGKILL);
        try {
            exit.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // reported by the cgroup removal below if anything is left
        }
        try {
            stdout.close();
            stderr.close();
        } catch (IOException ignored) {
            // already closed
        }
        if (networkHelperPid > 0) OutboundNetwork.detach(networkHelperPid);
        cgroup.destroy();
    }

    @Override
    public void close() throws IOException {
        destroy();
    }
}
