package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cgroup v2 without a kernel: a temp directory stands in for the JVM's own cgroup in the unified hierarchy. */
class CgroupsV2Test {
    @TempDir
    Path own;

    private static String read(Path p) throws IOException {
        return Files.readString(p);
    }

    private static void emptyOut(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) Files.delete(f);
        }
    }

    @Test
    void prepareMovesTheJvmIntoASupervisorLeafAndDelegatesControllers() throws IOException {
        CgroupsV2 v2 = CgroupsV2.prepare(own, 4242);
        assertEquals("4242", read(own.resolve("supervisor/cgroup.procs")));
        assertEquals("+memory +pids +cpu", read(own.resolve("cgroup.subtree_control")));
        assertEquals("+memory +pids +cpu", read(own.resolve("sandboxes/cgroup.subtree_control")));
        assertEquals("v2", v2.version());

        v2.create("fn1", Limits.DEFAULT);
        assertTrue(Files.isDirectory(own.resolve("sandboxes/fn1")), "sandboxes live under <own>/sandboxes");
    }

    @Test
    void prepareFromInsideAnEarlierSupervisorReusesTheLayoutBesideIt() throws IOException {
        CgroupsV2.prepare(own, 1);
        Path supervisor = own.resolve("supervisor");
        Files.writeString(own.resolve("cgroup.subtree_control"), "");

        CgroupsV2 again = CgroupsV2.prepare(supervisor, 2);
        assertFalse(Files.exists(supervisor.resolve("supervisor")), "no supervisor inside the supervisor");
        assertFalse(Files.exists(supervisor.resolve("sandboxes")), "a leaf holding processes cannot have children");
        assertEquals("+memory +pids +cpu", read(own.resolve("cgroup.subtree_control")));
        again.create("fn2", Limits.DEFAULT);
        assertTrue(Files.isDirectory(own.resolve("sandboxes/fn2")));
    }

    @Test
    void createWritesMemoryPidsAndCpuMax() throws IOException {
        Path sandboxes = Files.createDirectory(own.resolve("sandboxes"));
        new CgroupsV2(sandboxes).create("fn-a", new Limits(64L << 20, 32, 500));
        Path dir = sandboxes.resolve("fn-a");
        assertEquals("67108864", read(dir.resolve("memory.max")));
        assertEquals("32", read(dir.resolve("pids.max")));
        assertEquals("50000 100000", read(dir.resolve("cpu.max")), "500 millicpu = 50ms per 100ms period");
    }

    @Test
    void zeroCpuLeavesCpuMaxAtTheKernelDefault() throws IOException {
        Path sandboxes = Files.createDirectory(own.resolve("sandboxes"));
        new CgroupsV2(sandboxes).create("nocpu", new Limits(64L << 20, 32, 0));
        assertFalse(Files.exists(sandboxes.resolve("nocpu/cpu.max")));
    }

    @Test
    void withoutSwapAccountingMemorySwapMaxIsNotInvented() throws IOException {
        // The kernel creates memory.swap.max at mkdir only with swap accounting. The branch where it
        // exists cannot be faked: create() makes the directory itself with Files.createDirectory.
        Path sandboxes = Files.createDirectory(own.resolve("sandboxes"));
        new CgroupsV2(sandboxes).create("nosw", Limits.DEFAULT);
        assertFalse(Files.exists(sandboxes.resolve("nosw/memory.swap.max")));
    }

    @Test
    void initJoinsThroughTheSandboxCgroupProcs() throws IOException {
        Path sandboxes = Files.createDirectory(own.resolve("sandboxes"));
        CgroupsV2 cgroups = new CgroupsV2(sandboxes);
        cgroups.create("p", Limits.DEFAULT);
        assertEquals(List.of(sandboxes.resolve("p/cgroup.procs")), cgroups.joinFiles("p"));
        assertTrue(Files.isDirectory(cgroups.joinFiles("p").get(0).getParent()), "the join file is in the cgroup create() made");
    }

    @Test
    void statsReadCurrentPeakCpuInNanosAndOomKills() throws IOException {
        Path sandboxes = Files.createDirectory(own.resolve("sandboxes"));
        Cgroups.Cgroup cg = new CgroupsV2(sandboxes).create("s", Limits.DEFAULT);
        Path dir = sandboxes.resolve("s");
        Files.writeString(dir.resolve("memory.current"), "2097152\n");
        Files.writeString(dir.resolve("memory.peak"), "8388608\n");
        Files.writeString(dir.resolve("cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n");
        Files.writeString(dir.resolve("memory.events"), "low 0\nhigh 0\nmax 17\noom 3\noom_kill 1\noom_group_kill 0\n");
        assertEquals(new SandboxStats(2097152, 8388608, 1_500_000, 1), cg.stats());
    }

    @Test
    void statsAreZeroWhereTheKernelHasNoCounter() throws IOException {
        // memory.peak only exists since Linux 5.19.
        Path sandboxes = Files.createDirectory(own.resolve("sandboxes"));
        Cgroups.Cgroup cg = new CgroupsV2(sandboxes).create("old", Limits.DEFAULT);
        Files.writeString(sandboxes.resolve("old/memory.current"), "4096\n");
        assertEquals(new SandboxStats(4096, 0, 0, 0), cg.stats());
    }

    @Test
    void destroyRemovesTheCgroupDirectory() throws IOException {
        Path sandboxes = Files.createDirectory(own.resolve("sandboxes"));
        Cgroups.Cgroup cg = new CgroupsV2(sandboxes).create("d", new Limits(64L << 20, 32, 500));
        emptyOut(sandboxes.resolve("d")); // the kernel's pseudo-files vanish with rmdir; plain files do not
        cg.destroy();
        assertFalse(Files.exists(sandboxes.resolve("d")));
        cg.destroy();
    }

    @Test
    void anIdClashFailsWithoutTouchingTheExistingCgroup() throws IOException {
        Path sandboxes = Files.createDirectory(own.resolve("sandboxes"));
        Path existing = Files.createDirectory(sandboxes.resolve("dup"));
        Files.writeString(existing.resolve("memory.max"), "1234");
        assertThrows(FileAlreadyExistsException.class, () -> new CgroupsV2(sandboxes).create("dup", Limits.DEFAULT));
        assertEquals("1234", read(existing.resolve("memory.max")));
    }

    @Test
    void prepareWithAGroupNameKeepsThatRuntimesSandboxesApart() throws IOException {
        CgroupsV2 tests = CgroupsV2.prepare(own, 7, "skiff-test");
        tests.create("fn3", Limits.DEFAULT);
        assertTrue(Files.isDirectory(own.resolve("skiff-test/fn3")));
        assertEquals("+memory +pids +cpu", read(own.resolve("skiff-test/cgroup.subtree_control")));
        assertFalse(Files.exists(own.resolve("sandboxes")), "another runtime's group is not touched");
    }

    @Test
    void removeAllRemovesEverySandboxCgroupOfTheGroupOnly() throws IOException {
        Path sandboxes = Files.createDirectory(own.resolve("sandboxes"));
        Path other = Files.createDirectories(own.resolve("other-group/keep"));
        CgroupsV2 v2 = new CgroupsV2(sandboxes);
        v2.create("left-1", Limits.DEFAULT);
        v2.create("left-2", Limits.DEFAULT);
        emptyOut(sandboxes.resolve("left-1"));
        emptyOut(sandboxes.resolve("left-2"));
        Files.writeString(sandboxes.resolve("cgroup.subtree_control"), "+memory +pids +cpu");
        v2.removeAll();
        try (Stream<Path> left = Files.list(sandboxes)) {
            assertEquals(List.of(sandboxes.resolve("cgroup.subtree_control")), left.toList());
        }
        assertTrue(Files.isDirectory(other));
    }
}
