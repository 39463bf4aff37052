package dev.skiff.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Creates sandboxes. Mechanism only: it knows nothing of functions or HTTP.
 *
 * <p>How a sandbox starts (see shared/DESIGN.md for why): a launcher, a platform thread that has
 * unshared the mount, UTS, IPC, network and PID namespaces (these calls move only that thread;
 * {@link Launchers} keeps a few ready), builds the root filesystem with mount(2) in its private
 * mount namespace while the calling thread creates the cgroup, and spawns skiff-init, which
 * lands as PID 1 of the new PID namespace. The thread then ends and its namespaces live on in
 * the sandbox (with posix_spawn, see {@link Spawn} for why not ProcessBuilder). The JVM never forks into the sandbox; only the spawned init, a small
 * single-threaded C program, does the steps that must happen inside it.
 */
public final class SandboxRuntime {
    /**
     * Launchers kept ready with their namespaces already unshared. Two cover a replica start
     * plus a restart after a crash; a burst beyond that unshares on the start path.
     */
    static final int READY_LAUNCHERS = 2;

    private final Path init;
    private final Path stagingRoot;
    private final Path stateDir;
    private final Cgroups cgroups;
    private final int lifeline;
    private final Launchers launchers;

    SandboxRuntime(Path stateDir, Path init, Cgroups cgroups, int lifeline, int readyLaunchers) {
        this.stateDir = stateDir;
        this.init = init;
        this.stagingRoot = stateDir.resolve("root");
        this.cgroups = cgroups;
        this.lifeline = lifeline;
        this.launchers = new Launchers(readyLaunchers);
    }

    /**
     * Prepares a runtime keeping its state under {@code stateDir}. Fails with a one-line
     * reason when the host cannot run sandboxes (not root, not Linux, no cgroups).
     */
    public static SandboxRuntime open(Path stateDir, String cgroupGroup) throws SandboxException {
        return open(stateDir, cgroupGroup, READY_LAUNCHERS);
    }

    /** As {@link #open(Path, String)}, with {@code readyLaunchers} launchers unshared ahead of time (0: none). */
    public static SandboxRuntime open(Path stateDir, String cgroupGroup, int readyLaunchers) throws SandboxException {
        String missing = HostSupport.whatIsMissing();
        if (missing != null) throw new SandboxException(missing);
        try {
            Files.createDirectories(stateDir);
            Cgroups cgroups = Cgroups.detect(cgroupGroup);
            removeLeftovers(stateDir, cgroups);
            Path bin = stateDir.resolve("bin");
            Files.createDirectories(bin);
            Path init = installInit(bin);
            // Every sandbox stages its root here, each in its own mount namespace: the host only
            // ever sees this one empty directory, and a start needs no mkdir or rmdir of its own.
            Files.createDirectories(stateDir.resolve("root"));
            return new SandboxRuntime(stateDir, init, cgroups, Spawn.lifeline(), readyLaunchers);
        } catch (IOException | RuntimeException e) {
            throw new SandboxException("cannot prepare the sandbox runtime: " + e.getMessage(), e);
        }
    }

    /** Sandboxes of an earlier run of this runtime that died without tearing them down. */
    private static void removeLeftovers(Path stateDir, Cgroups cgroups) throws IOException {
        cgroups.removeAll();
        try (var dirs = Files.list(stateDir)) {
            for (Path d : dirs.toList()) {
                String name = d.getFileName().toString();
                if (!name.equals("bin") && !name.equals("root")) deleteTree(d);
            }
        }
    }

    /** Destroys what is left and removes this runtime's cgroup group and state directory. */
    public void close() throws IOException {
        launchers.close();
        cgroups.removeGroup();
        deleteTree(stateDir);
    }

    public String cgroupVersion() {
        return cgroups.version();
    }

    /** Copies skiff-init out of the jar, read-only and root-owned, so a sandbox cannot replace it. */
    private static Path installInit(Path bin) throws IOException {
        try (InputStream in = SandboxRuntime.class.getResourceAsStream("skiff-init")) {
            if (in == null) throw new IOException("skiff-init is missing from the sandbox-runtime jar (build with a C compiler)");
            Path tmp = Files.createTempFile(bin, "skiff-init", ".tmp");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-xr-xr-x"));
            Path target = bin.resolve("skiff-init");
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        }
    }

    /** Where a sandbox's standard streams go. */
    public enum Stdio {
        /** stdin from /dev/null; stdout and stderr readable from {@link Sandbox#stdout()}/{@link Sandbox#stderr()}. */
        PIPES,
        /** The sandbox shares this process's stdin, stdout and stderr (for a command-line tool). */
        INHERIT
    }

    /** Creates and starts a sandbox; returns once its init runs (not once the function is ready). */
    public Sandbox start(SandboxSpec spec) throws SandboxException {
        return start(spec, Stdio.PIPES);
    }

    public Sandbox start(SandboxSpec spec, Stdio stdio) throws SandboxException {
        boolean outbound = spec.network() == SandboxSpec.Network.OUTBOUND;
        if (outbound && OutboundNetwork.whatIsMissing() != null) {
            throw new SandboxException("sandbox " + spec.id() + ": " + OutboundNetwork.whatIsMissing());
        }
        List<String> command = initCommand(init, spec, stagingRoot, cgroups.joinFiles(spec.id()));
        // The launcher stages the root filesystem while this thread creates the cgroup; init
        // joins the cgroup, so the launcher spawns it only once the cgroup exists.
        CompletableFuture<Void> cgroupMade = new CompletableFuture<>();
        CompletableFuture<Spawn.Child> spawned = launchers.launch(sys -> {
            RootfsBuilder.build(stagingRoot, spec, sys);
            cgroupMade.join();
            return Spawn.spawn(command, lifeline, stdio == Stdio.INHERIT);
        });
        Cgroups.Cgroup cgroup;
        try {
            cgroup = cgroups.create(spec.id(), spec.limits());
            cgroupMade.complete(null);
        } catch (IOException | RuntimeException e) {
            cgroupMade.completeExceptionally(e);
            spawned.handle((child, failure) -> child).join();
            launchers.refill();
            throw new SandboxException("sandbox " + spec.id() + ": cannot create cgroup: " + e.getMessage(), e);
        }
        Spawn.Child child;
        try {
            child = spawned.join();
        } catch (CompletionException e) {
            launchers.refill();
            try {
                cgroup.destroy();
            } catch (IOException ignored) {
                // reported below
            }
            Throwable t = e.getCause() != null ? e.getCause() : e;
            throw new SandboxException("sandbox " + spec.id() + ": " + t.getMessage(), t);
        }
        // Init now sets the sandbox up on its own: a good moment to replace the launcher just used.
        launchers.refill();
        Sandbox sandbox = new Sandbox(spec.id(), child, cgroup);
        if (outbound) {
            try {
                sandbox.attachNetworkHelper(OutboundNetwork.attach(child.pid(), lifeline));
            } catch (IOException e) {
                try {
                    sandbox.destroy();
                } catch (IOException ignored) {
                    // reported below
                }
                throw new SandboxException("sandbox " + spec.id() + ": cannot start slirp4netns: " + e.getMessage(), e);
            }
        }
        return sandbox;
    }

    /** skiff-init's argv for {@code spec}; shared with the benchmark's step-by-step replay. */
    static List<String> initCommand(Path init, SandboxSpec spec, Path root, List<Path> cgroupJoinFiles) {
        List<String> cmd = new ArrayList<>();
        cmd.add(init.toString());
        cmd.add("--root");
        cmd.add(root.toString());
        for (Path join : cgroupJoinFiles) {
            cmd.add("--cgroup");
            cmd.add(join.toString());
        }
        cmd.add("--hostname");
        cmd.add(spec.hostname());
        cmd.add("--uid");
        cmd.add(Integer.toString(spec.uid()));
        cmd.add("--gid");
        cmd.add(Integer.toString(spec.gid()));
        cmd.add("--cwd");
        cmd.add(spec.cwd());
        for (Map.Entry<String, String> e : spec.env().entrySet()) {
            cmd.add("--env");
            cmd.add(e.getKey() + "=" + e.getValue());
        }
        if (spec.fileSizeLimit() > 0) {
            cmd.add("--fsize");
            cmd.add(Long.toString(spec.fileSizeLimit()));
        }
        if (spec.network() == SandboxSpec.Network.OUTBOUND) {
            cmd.add("--wait-net");
            cmd.add(OutboundNetwork.INTERFACE);
        }
        cmd.add("--");
        cmd.addAll(spec.argv());
        return cmd;
    }

    /** Removes a directory tree on the host. Never follows symlinks. */
    static void deleteTree(Path dir) {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException ignored) {
            // gone already
        } catch (IOException e) {
            System.getLogger(SandboxRuntime.class.getName()).log(System.Logger.Level.WARNING,
                    "could not remove " + dir + ": " + e.getMessage());
        }
    }
}
