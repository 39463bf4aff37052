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
import java.util.concurrent.atomic.AtomicReference;

/**
 * Creates sandboxes. Mechanism only: it knows nothing of functions or HTTP.
 *
 * <p>How a sandbox starts (see shared/DESIGN.md for why): a fresh platform thread unshares the
 * mount, UTS, IPC, network and PID namespaces (these calls move only that thread), builds the
 * root filesystem with mount(2) in its private mount namespace, and spawns skiff-init, which
 * lands as PID 1 of the new PID namespace. The thread then ends and its namespaces live on in
 * the sandbox (with posix_spawn, see {@link Spawn} for why not ProcessBuilder). The JVM never forks into the sandbox; only the spawned init, a small
 * single-threaded C program, does the steps that must happen inside it.
 */
public final class SandboxRuntime {
    private static final int NAMESPACES = Linux.CLONE_NEWNS | Linux.CLONE_NEWUTS | Linux.CLONE_NEWIPC
            | Linux.CLONE_NEWNET | Linux.CLONE_NEWPID;

    private final Path stateDir;
    private final Path init;
    private final Cgroups cgroups;
    private final int lifeline;

    SandboxRuntime(Path stateDir, Path init, Cgroups cgroups, int lifeline) {
        this.stateDir = stateDir;
        this.init = init;
        this.cgroups = cgroups;
        this.lifeline = lifeline;
    }

    /**
     * Prepares a runtime keeping per-sandbox state under {@code stateDir}. Fails with a one-line
     * reason when the host cannot run sandboxes (not root, not Linux, no cgroups).
     */
    public static SandboxRuntime open(Path stateDir, String cgroupGroup) throws SandboxException {
        String missing = HostSupport.whatIsMissing();
        if (missing != null) throw new SandboxException(missing);
        try {
            Files.createDirectories(stateDir);
            Cgroups cgroups = Cgroups.detect(cgroupGroup);
            removeLeftovers(stateDir, cgroups);
            Path bin = stateDir.resolve("bin");
            Files.createDirectories(bin);
            Path init = installInit(bin);
            return new SandboxRuntime(stateDir, init, cgroups, Spawn.lifeline());
        } catch (IOException | RuntimeException e) {
            throw new SandboxException("cannot prepare the sandbox runtime: " + e.getMessage(), e);
        }
    }

    /** Sandboxes of an earlier run of this runtime that died without tearing them down. */
    private static void removeLeftovers(Path stateDir, Cgroups cgroups) throws IOException {
        cgroups.removeAll();
        try (var dirs = Files.list(stateDir)) {
            for (Path d : dirs.toList()) {
                if (!d.getFileName().toString().equals("bin")) deleteTree(d);
            }
        }
    }

    /** Destroys what is left and removes this runtime's cgroup group and state directory. */
    public void close() throws IOException {
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
        Path dir = stateDir.resolve(spec.id());
        Path root = dir.resolve("root");
        Cgroups.Cgroup cgroup;
        try {
            Files.createDirectory(dir);
        } catch (IOException e) {
            throw new SandboxException("sandbox " + spec.id() + ": cannot create state directory " + dir + ": " + e, e);
        }
        try {
            Files.createDirectory(root);
            cgroup = cgroups.create(spec.id(), spec.limits());
        } catch (IOException e) {
            deleteTree(dir);
            throw new SandboxException("sandbox " + spec.id() + ": cannot create cgroup: " + e.getMessage(), e);
        }
        List<String> command = initCommand(init, spec, root, cgroup);
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread launcher = Thread.ofPlatform().name("sandbox-launch-" + spec.id()).unstarted(() -> {
            try {
                NativeSyscalls sys = NativeSyscalls.INSTANCE;
                sys.unshare(NAMESPACES);
                RootfsBuilder.build(root, spec, sys);
                outcome.set(Spawn.spawn(command, lifeline, stdio == Stdio.INHERIT));
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        launcher.start();
        try {
            launcher.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Object result = outcome.get();
        if (result instanceof Spawn.Child child) {
            Sandbox sandbox = new Sandbox(spec.id(), child, cgroup, dir);
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
        try {
            cgroup.destroy();
        } catch (IOException ignored) {
            // reported below
        }
        deleteTree(dir);
        Throwable t = result instanceof Throwable th ? th : new IllegalStateException("launcher thread did not finish");
        throw new SandboxException("sandbox " + spec.id() + ": " + t.getMessage(), t);
    }

    /** skiff-init's argv for {@code spec}; shared with the benchmark's step-by-step replay. */
    static List<String> initCommand(Path init, SandboxSpec spec, Path root, Cgroups.Cgroup cgroup) {
        List<String> cmd = new ArrayList<>();
        cmd.add(init.toString());
        cmd.add("--root");
        cmd.add(root.toString());
        for (Path procs : cgroup.procsFiles()) {
            cmd.add("--cgroup");
            cmd.add(procs.toString());
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
        // A sandbox's state dir normally holds just the (host-side empty) root: two rmdirs.
        try {
            Files.deleteIfExists(dir.resolve("root"));
            Files.deleteIfExists(dir);
            return;
        } catch (IOException notEmpty) {
            // walk it below
        }
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
