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

    private static long openFds() throws Exception {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
