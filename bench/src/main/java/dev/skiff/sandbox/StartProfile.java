package dev.skiff.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongConsumer;

/**
 * Where the time of one sandbox start goes. Lives in the runtime's package (a split package on
 * the class path, benchmark jar only) so it can replay {@link SandboxRuntime#start} and
 * {@link Sandbox#destroy} step by step with the runtime's own package-private pieces
 * ({@link RootfsBuilder}, {@link Spawn}, the Sandbox constructor) and a clock around each step,
 * without changing the runtime. Keep in step with SandboxRuntime.start when that changes.
 *
 * <p>The function is a static probe that prints CLOCK_MONOTONIC as it starts, which splits
 * "spawn returned -> function running" (skiff-init's whole setup plus fork and exec) from
 * "function running -> onExit completed" (exit, namespace teardown, the JDK noticing).
 */
public final class StartProfile {
    private static final int NAMESPACES = Linux.CLONE_NEWNS | Linux.CLONE_NEWUTS | Linux.CLONE_NEWIPC
            | Linux.CLONE_NEWNET | Linux.CLONE_NEWPID;

    /** Step name -> one duration per run, in nanoseconds (insertion order = step order). */
    public static final class Steps {
        public final Map<String, List<Long>> byStep = new LinkedHashMap<>();

        void add(String step, long nanos) {
            byStep.computeIfAbsent(step, k -> new ArrayList<>()).add(nanos);
        }
    }

    private final Path stagingRoot;
    private final Path init;
    private final Cgroups cgroups;
    private final int lifeline;
    /** One ready launcher, as the runtime keeps them: runs are spaced, so it is always refilled in time. */
    private final Launchers launchers = new Launchers(1);

    /**
     * Uses the skiff-init that {@code SandboxRuntime.open(stateDir, group)} installed (or
     * {@code initOverride}, e.g. a copy built with timing stamps), and the same cgroup group.
     */
    public StartProfile(Path stateDir, String cgroupGroup, Path initOverride) throws IOException {
        this.stagingRoot = stateDir.resolve("root");
        this.init = initOverride != null ? initOverride : stateDir.resolve("bin").resolve("skiff-init");
        this.cgroups = Cgroups.detect(cgroupGroup);
        this.lifeline = Spawn.lifeline();
    }

    /** One start + exit + destroy of {@code spec} (whose function must be the clock probe), step by step. */
    public void runOnce(SandboxSpec spec, Steps steps, boolean record) throws Exception {
        Steps s = record ? steps : new Steps();
        long t0 = System.nanoTime();
        List<String> command = SandboxRuntime.initCommand(init, spec, stagingRoot, cgroups.joinFiles(spec.id()));
        TimingSyscalls sys = new TimingSyscalls(NativeSyscalls.INSTANCE);
        long[] marks = new long[4];
        CompletableFuture<Void> cgroupMade = new CompletableFuture<>();
        CompletableFuture<Spawn.Child> spawned = launchers.launch(ignored -> {
            marks[0] = System.nanoTime();
            RootfsBuilder.build(stagingRoot, spec, sys);
            marks[1] = System.nanoTime();
            cgroupMade.join();
            marks[2] = System.nanoTime();
            Spawn.Child c = Spawn.spawn(command, lifeline, false);
            marks[3] = System.nanoTime();
            return c;
        });
        long t1 = System.nanoTime();
        Cgroups.Cgroup cgroup = cgroups.create(spec.id(), spec.limits());
        long t2 = System.nanoTime();
        cgroupMade.complete(null);
        Spawn.Child child;
        try {
            child = spawned.join();
        } catch (RuntimeException e) {
            cgroup.destroy();
            throw new IllegalStateException("profile start failed", e);
        }
        long t3 = System.nanoTime();
        launchers.refill();
        s.add("java: initCommand + hand the job to a ready launcher", t1 - t0);
        s.add("java: cgroup create + limit writes (beside the rootfs)", t2 - t1);
        s.add("launcher: wakes up with the job", marks[0] - t1);
        s.add("launcher: rootfs (" + sys.mounts + " mounts, " + sys.fileOps + " file ops)", marks[1] - marks[0]);
        s.add("launcher:   of which mount(2) calls", sys.mountNanos);
        s.add("launcher:   of which mkdir/file/symlink", sys.fileNanos);
        s.add("launcher: waits for the cgroup", marks[2] - marks[1]);
        s.add("launcher: posix_spawn skiff-init (+pipes)", marks[3] - marks[2]);
        s.add("java: join() returns after spawn", t3 - marks[3]);
        Sandbox sandbox = new Sandbox(spec.id(), child, cgroup);
        long t4 = System.nanoTime();
        s.add("java: Sandbox (ProcessHandle.onExit)", t4 - t3);
        Sandbox.Exit exit = sandbox.onExit().get(30, TimeUnit.SECONDS);
        long t5 = System.nanoTime();
        String out = drain(child.stdout()).trim();
        if (exit.code() != 0 || out.isEmpty()) {
            throw new IllegalStateException("probe sandbox " + exit.describe() + ", stdout '" + out + "', stderr '" + drain(child.stderr()) + "'");
        }
        long functionStarted = Long.parseLong(out);
        String stderr = drain(child.stderr());
        s.add("init: spawn -> function running (init setup, fork, exec)", functionStarted - marks[3]);
        Long reaped = initStamps(stderr, marks[2], functionStarted, s);
        s.add("exit: function running -> onExit done (exit, teardown, reap)", t5 - functionStarted);
        if (reaped != null) {
            s.add("  exit: function runs -> init reaped it", reaped - functionStarted);
            s.add("  exit: init reaped it -> init gone, Java onExit done", t5 - reaped);
        }
        // Sandbox.destroy(), step by step (signal and the wait are no-ops: it already exited).
        child.stdout().close();
        child.stderr().close();
        long t6 = System.nanoTime();
        cgroup.destroy();
        long t7 = System.nanoTime();
        s.add("destroy: cgroup kill + rmdir", t7 - t6);
        s.add("TOTAL start -> exit -> destroy", t7 - t0);
    }

    /**
     * Splits init's time when it was built with timing stamps (bench/src/main/c/skiff-init-timing.patch):
     * lines "skiff-init-time CLOCK_MONOTONIC_NS STEP" on stderr, one after each step ("reaped"
     * when the function was reaped). Each step is charged the time since the previous stamp;
     * repeated steps add up. Returns when init reaped the function, if stamped.
     */
    private static Long initStamps(String stderr, long spawnCalled, long functionStarted, Steps s) {
        // The first step runs from the posix_spawn call: with vfork semantics the child can reach
        // main() before posix_spawn has returned in the parent.
        long prev = spawnCalled;
        Long reaped = null;
        Map<String, Long> steps = new LinkedHashMap<>();
        for (String line : stderr.split("\n")) {
            String[] f = line.trim().split(" ", 3);
            if (f.length != 3 || !f[0].equals("skiff-init-time")) continue;
            long t = Long.parseLong(f[1]);
            if (f[2].equals("reaped")) {
                reaped = t;
                continue;
            }
            steps.merge(f[2], t - prev, Long::sum);
            prev = t;
        }
        if (steps.isEmpty()) return null;
        for (var e : steps.entrySet()) s.add("  init: " + e.getKey(), e.getValue());
        s.add("  init: the function's exec, until it runs", functionStarted - prev);
        return reaped;
    }

    /** Cost of unshare(2) for one namespace type at a time, each on a fresh thread that then ends. */
    public static Map<String, List<Long>> unshareCosts(int rounds) throws InterruptedException {
        Map<String, Integer> kinds = new LinkedHashMap<>();
        kinds.put("mnt", Linux.CLONE_NEWNS);
        kinds.put("uts", Linux.CLONE_NEWUTS);
        kinds.put("ipc", Linux.CLONE_NEWIPC);
        kinds.put("net", Linux.CLONE_NEWNET);
        kinds.put("pid", Linux.CLONE_NEWPID);
        kinds.put("all five", NAMESPACES);
        Map<String, List<Long>> result = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            for (var e : kinds.entrySet()) {
                long[] took = new long[1];
                Thread t = Thread.ofPlatform().unstarted(() -> {
                    long a = System.nanoTime();
                    try {
                        NativeSyscalls.INSTANCE.unshare(e.getValue());
                    } catch (IOException ex) {
                        throw new IllegalStateException(ex);
                    }
                    took[0] = System.nanoTime() - a;
                });
                t.start();
                t.join();
                result.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(took[0]);
            }
        }
        return result;
    }


    private static String drain(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        in.transferTo(buf);
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** Counts and times the calls RootfsBuilder makes. */
    private static final class TimingSyscalls implements Syscalls {
        private final Syscalls real;
        int mounts;
        int fileOps;
        long mountNanos;
        long fileNanos;

        TimingSyscalls(Syscalls real) {
            this.real = real;
        }

        private interface Op {
            void run() throws IOException;
        }

        private void timed(Op op, LongConsumer add) throws IOException {
            long a = System.nanoTime();
            op.run();
            add.accept(System.nanoTime() - a);
        }

        @Override
        public void unshare(int flags) throws IOException {
            real.unshare(flags);
        }

        @Override
        public void mount(String source, Path target, String fstype, long flags, String data) throws IOException {
            mounts++;
            timed(() -> real.mount(source, target, fstype, flags, data), d -> mountNanos += d);
        }

        @Override
        public void mkdirs(Path dir) throws IOException {
            fileOps++;
            timed(() -> real.mkdirs(dir), d -> fileNanos += d);
        }

        @Override
        public void createFile(Path file) throws IOException {
            fileOps++;
            timed(() -> real.createFile(file), d -> fileNanos += d);
        }

        @Override
        public void symlink(Path link, String target) throws IOException {
            fileOps++;
            timed(() -> real.symlink(link, target), d -> fileNanos += d);
        }

        @Override
        public void writeFile(Path file, String content) throws IOException {
            fileOps++;
            timed(() -> real.writeFile(file, content), d -> fileNanos += d);
        }

        @Override
        public void chown(Path path, int uid, int gid) throws IOException {
            real.chown(path, uid, gid);
        }
    }
}
