package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Teardown leaves nothing behind: 500 sandboxes created and destroyed, then count what is left. */
class SandboxChurnTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void fiveHundredSandboxesLeaveNoCgroupMountProcessOrFd() throws Exception {
        SandboxRuntime runtime = SandboxTestSupport.runtime();
        // Warm up once so lazily opened JVM/JNA files do not count as leaks.
        SandboxTestSupport.sh("churn-warm", "true");
        long fdsBefore = openFds();
        List<String> mountsBefore = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        long childrenBefore = ProcessHandle.current().children().count();
        for (int i = 0; i < 500; i++) {
            Sandbox s = runtime.start(SandboxTestSupport.spec("churn-" + i).command("/bin/true").build());
            // Half are destroyed while running, half after they exited.
            if (i % 2 == 0) s.onExit().join();
            s.destroy();
        }
        assertEquals(fdsBefore, openFds(), "open file descriptors of the runtime");
        assertEquals(mountsBefore.size(), Files.readAllLines(Path.of("/proc/self/mountinfo")).size(), "host mounts");
        assertEquals(childrenBefore, ProcessHandle.current().children().count(), "child processes");
        try (Stream<Path> cg = Files.walk(Path.of("/sys/fs/cgroup"), 6)) {
            assertEquals(0, cg.filter(p -> p.getFileName() != null && p.getFileName().toString().startsWith("churn-")).count(),
                    "cgroup directories");
        }
        assertEquals(0, ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains("--root") && p.info().commandLine().orElse("").contains("churn-"))
                .count(), "skiff-init processes");
    }

    @Test
    void sandboxesStartedConcurrentlyAllComeUpAndInheritNothing() throws Exception {
        // Concurrent spawns used to leak each other's freshly written rootfs files (no CLOEXEC on
        // JDK-opened files), so a read-only remount could fail with EBUSY.
        SandboxRuntime runtime = SandboxTestSupport.runtime();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(16);
        List<java.util.concurrent.Future<SandboxTestSupport.Result>> runs = new java.util.ArrayList<>();
        for (int i = 0; i < 64; i++) {
            String id = "conc-" + i;
            runs.add(pool.submit(() -> SandboxTestSupport.run(SandboxTestSupport.spec(id)
                    .command("/bin/sh", "-c", "ls /proc/1/fd | wc -l").build())));
        }
        for (var r : runs) {
            var result = r.get(120, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(0, result.exit().code(), result.stderr());
        }
        pool.shutdown();
    }

    @Test
    void everySandboxHasNamespacesOfItsOwnThoughLaunchersUnshareAheadOfTime() throws Exception {
        // Launchers unshare before they know their sandbox; none may be handed out twice, and a
        // burst larger than the ready pool (which unshares on the start path) gets the same.
        SandboxRuntime runtime = SandboxTestSupport.runtime();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        List<java.util.concurrent.Future<Sandbox>> starts = new java.util.ArrayList<>();
        for (int i = 0; i < 3 * SandboxRuntime.READY_LAUNCHERS + 2; i++) {
            String id = "ns-" + i;
            starts.add(pool.submit(() -> runtime.start(SandboxTestSupport.spec(id).command("/bin/sleep", "30").build())));
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        List<String> kinds = List.of("net", "pid", "uts", "ipc");
        for (String kind : kinds) seen.add(Files.readSymbolicLink(Path.of("/proc/self/ns/" + kind)).toString());
        List<Sandbox> sandboxes = new java.util.ArrayList<>();
        try {
            for (var f : starts) sandboxes.add(f.get(60, java.util.concurrent.TimeUnit.SECONDS));
            for (Sandbox s : sandboxes) {
                for (String kind : kinds) {
                    String ns = Files.readSymbolicLink(Path.of("/proc/" + s.pid() + "/ns/" + kind)).toString();
                    org.junit.jupiter.api.Assertions.assertTrue(seen.add(ns), s.id() + " shares its " + ns + " with the host or another sandbox");
                }
            }
        } finally {
            for (Sandbox s : sandboxes) s.destroy();
            pool.shutdown();
        }
    }

    private static long openFds() throws Exception {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
