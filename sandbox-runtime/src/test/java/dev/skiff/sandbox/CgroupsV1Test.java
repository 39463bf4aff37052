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
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cgroup v1 without a kernel: the /proc parsers on realistic inputs, and the cgroup lifecycle over
 * plain temp directories standing in for /sys/fs/cgroup/&lt;controller&gt;/…/skiff.
 */
class CgroupsV1Test {
    /** A hybrid host (like our CI machines): cpu and cpuacct separate, name=systemd, a cgroup2 "unified" mount. */
    static final List<String> HYBRID_MOUNTINFO = List.of(
            "22 27 0:21 / /proc rw,relatime - proc proc rw",
            "23 27 0:22 / /sys rw,relatime - sysfs sysfs rw",
            "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
            "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
            "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
            "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
            "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset",
            "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
            "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices",
            "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
            "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
            "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");

    static final List<String> HYBRID_SELF_CGROUP = List.of(
            "9:name=systemd:/",
            "8:pids:/",
            "7:blkio:/",
            "5:devices:/",
            "4:memory:/process_api/0d37cc3fb7c9ff216f58c0d8addf55fb",
            "3:cpuset:/",
            "2:cpuacct:/",
            "1:cpu:/",
            "0::/");

    @TempDir
    Path fake;

    private Path memory;
    private Path pids;
    private Path cpu;
    private Path cpuacct;

    @BeforeEach
    void fakeHierarchies() throws IOException {
        memory = Files.createDirectories(fake.resolve("memory/skiff"));
        pids = Files.createDirectories(fake.resolve("pids/skiff"));
        cpu = Files.createDirectories(fake.resolve("cpu/skiff"));
        cpuacct = Files.createDirectories(fake.resolve("cpuacct/skiff"));
    }

    private CgroupsV1 all() {
        return new CgroupsV1(Map.of("memory", memory, "pids", pids, "cpu", cpu, "cpuacct", cpuacct));
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p);
    }

    /** Stands in for the kernel removing a cgroup's pseudo-files on rmdir: plain dirs need emptying first. */
    private static void emptyOut(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) Files.delete(f);
        }
    }

    // --- /proc/self/mountinfo ---

    @Test
    void mountinfoOfAHybridHostYieldsEachWantedControllersOwnMount() {
        Map<String, Path> mounts = CgroupsV1.controllerMounts(HYBRID_MOUNTINFO);
        assertEquals(Map.of(
                "memory", Path.of("/sys/fs/cgroup/memory"),
                "pids", Path.of("/sys/fs/cgroup/pids"),
                "cpu", Path.of("/sys/fs/cgroup/cpu"),
                "cpuacct", Path.of("/sys/fs/cgroup/cpuacct")), mounts);
        assertFalse(mounts.containsValue(Path.of("/sys/fs/cgroup/unified")), "the cgroup2 mount is not a v1 hierarchy");
        assertFalse(mounts.containsValue(Path.of("/sys/fs/cgroup/systemd")), "name=systemd has no controllers");
    }

    @Test
    void comountedCpuAndCpuacctMapToTheSameDirectory() {
        List<String> mountinfo = List.of(
                "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct",
                "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory",
                "32 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids");
        Map<String, Path> mounts = CgroupsV1.controllerMounts(mountinfo);
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct"), mounts.get("cpu"));
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct"), mounts.get("cpuacct"));
        assertEquals(Path.of("/sys/fs/cgroup/memory"), mounts.get("memory"), "optional fields (shared:N) are skipped");
        assertEquals(Path.of("/sys/fs/cgroup/pids"), mounts.get("pids"));
    }

    @Test
    void aPureCgroup2HostHasNoV1Controllers() {
        List<String> mountinfo = List.of(
                "23 27 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
                "26 23 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot");
        assertEquals(Map.of(), CgroupsV1.controllerMounts(mountinfo));
    }

    @Test
    void mountsOfOtherFilesystemsNamedLikeControllersAreIgnored() {
        List<String> mountinfo = List.of(
                "50 27 0:40 / /memory rw,relatime - tmpfs memory rw,size=1024k",
                "51 27 0:41 / /srv/pids rw,relatime - ext4 /dev/pids rw,pids");
        assertEquals(Map.of(), CgroupsV1.controllerMounts(mountinfo));
    }

    // --- /proc/self/cgroup ---

    @Test
    void selfCgroupMapsEachControllerToItsPathAndSkipsTheUnifiedLine() {
        Map<String, String> paths = CgroupsV1.selfPaths(HYBRID_SELF_CGROUP);
        assertEquals("/process_api/0d37cc3fb7c9ff216f58c0d8addf55fb", paths.get("memory"));
        assertEquals("/", paths.get("pids"));
        assertEquals("/", paths.get("cpu"));
        assertEquals("/", paths.get("name=systemd"));
        assertFalse(paths.containsKey(""), "the cgroup2 line '0::/' names no controller: " + paths);
        assertEquals(8, paths.size(), paths.toString());
    }

    @Test
    void selfCgroupSplitsComountedControllersAndKeepsColonsInPaths() {
        Map<String, String> paths = CgroupsV1.selfPaths(List.of(
                "4:cpu,cpuacct:/user.slice/user-1000.slice",
                "3:memory:/docker/abc:def",
                "garbage line"));
        assertEquals("/user.slice/user-1000.slice", paths.get("cpu"));
        assertEquals("/user.slice/user-1000.slice", paths.get("cpuacct"));
        assertEquals("/docker/abc:def", paths.get("memory"));
        assertEquals(3, paths.size(), paths.toString());
    }

    // --- lifecycle over a fake hierarchy ---

    @Test
    void memoryAndPidsAreRequired() {
        IllegalStateException noPids = assertThrows(IllegalStateException.class, () -> new CgroupsV1(Map.of("memory", memory)));
        assertTrue(noPids.getMessage().contains("'pids'"), noPids.getMessage());
        IllegalStateException noMemory = assertThrows(IllegalStateException.class, () -> new CgroupsV1(Map.of("pids", pids)));
        assertTrue(noMemory.getMessage().contains("'memory'"), noMemory.getMessage());
        assertEquals("v1", new CgroupsV1(Map.of("memory", memory, "pids", pids)).version());
    }

    @Test
    void createWritesMemoryPidsAndCpuLimitsIntoEachControllersDirectory() throws IOException {
        all().create("fn-a.1", new Limits(64L << 20, 32, 500));
        assertEquals("67108864", read(memory.resolve("fn-a.1/memory.limit_in_bytes")));
        assertEquals("32", read(pids.resolve("fn-a.1/pids.max")));
        assertEquals("100000", read(cpu.resolve("fn-a.1/cpu.cfs_period_us")));
        assertEquals("50000", read(cpu.resolve("fn-a.1/cpu.cfs_quota_us")), "500 millicpu = half of a 100ms period");
        assertTrue(Files.isDirectory(cpuacct.resolve("fn-a.1")));
    }

    @Test
    void cpuQuotaScalesWithMillicpusAboveOneCpu() throws IOException {
        all().create("two", new Limits(64L << 20, 32, 1500));
        assertEquals("150000", read(cpu.resolve("two/cpu.cfs_quota_us")));
    }

    @Test
    void zeroCpuMeansNoQuotaIsWritten() throws IOException {
        all().create("free", new Limits(64L << 20, 32, 0));
        assertFalse(Files.exists(cpu.resolve("free/cpu.cfs_quota_us")));
        assertFalse(Files.exists(cpu.resolve("free/cpu.cfs_period_us")));
    }

    @Test
    void withoutSwapAccountingTheMemswLimitIsNotInvented() throws IOException {
        // On a kernel without swap accounting memory.memsw.limit_in_bytes does not exist and must
        // not be created. (The branch where the kernel provides it cannot be faked here: create()
        // makes the sandbox directory itself with Files.createDirectory, so nothing can be
        // pre-placed in it.)
        all().create("nosw", new Limits(64L << 20, 32, 0));
        assertFalse(Files.exists(memory.resolve("nosw/memory.memsw.limit_in_bytes")));
    }

    @Test
    void withoutACpuHierarchyCreateStillAppliesMemoryAndPids() throws IOException {
        CgroupsV1 cgroups = new CgroupsV1(Map.of("memory", memory, "pids", pids));
        cgroups.create("nocpu", new Limits(32L << 20, 8, 500));
        assertEquals("33554432", read(memory.resolve("nocpu/memory.limit_in_bytes")));
        assertEquals("8", read(pids.resolve("nocpu/pids.max")));
        assertEquals(2, cgroups.joinFiles("nocpu").size());
    }

    @Test
    void initJoinsThroughTheTasksFileOfEveryControllerDirectory() throws IOException {
        CgroupsV1 cgroups = all();
        cgroups.create("p", Limits.DEFAULT);
        assertEquals(
                java.util.Set.of(memory.resolve("p/tasks"), pids.resolve("p/tasks"),
                        cpu.resolve("p/tasks"), cpuacct.resolve("p/tasks")),
                java.util.Set.copyOf(cgroups.joinFiles("p")));
        assertEquals(4, cgroups.joinFiles("p").size());
    }

    @Test
    void anIdClashFailsAndLeavesNoHalfMadeCgroupsBehind() throws IOException {
        Files.createDirectory(pids.resolve("dup"));
        assertThrows(FileAlreadyExistsException.class, () -> all().create("dup", Limits.DEFAULT));
        assertFalse(Files.exists(memory.resolve("dup")));
        assertFalse(Files.exists(cpu.resolve("dup")));
        assertFalse(Files.exists(cpuacct.resolve("dup")));
        assertTrue(Files.isDirectory(pids.resolve("dup")), "the other cgroup of that name is not ours to remove");
    }

    @Test
    void statsReadUsagePeakCpuAndOomKills() throws IOException {
        Cgroups.Cgroup cg = all().create("s", Limits.DEFAULT);
        Files.writeString(memory.resolve("s/memory.usage_in_bytes"), "1048576\n");
        Files.writeString(memory.resolve("s/memory.max_usage_in_bytes"), "4194304\n");
        Files.writeString(memory.resolve("s/memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        Files.writeString(cpuacct.resolve("s/cpuacct.usage"), "123456789\n");
        assertEquals(new SandboxStats(1048576, 4194304, 123456789, 2), cg.stats());
    }

    @Test
    void statsAreZeroWhereTheKernelHasNoCounter() throws IOException {
        Cgroups.Cgroup cg = new CgroupsV1(Map.of("memory", memory, "pids", pids)).create("z", Limits.DEFAULT);
        // Older kernels have no oom_kill line in memory.oom_control; no cpuacct hierarchy at all.
        Files.writeString(memory.resolve("z/memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\n");
        Files.writeString(memory.resolve("z/memory.usage_in_bytes"), "4096\n");
        assertEquals(new SandboxStats(4096, 0, 0, 0), cg.stats());
    }

    @Test
    void destroyRemovesEveryControllerDirectory() throws IOException {
        Cgroups.Cgroup cg = all().create("d", new Limits(64L << 20, 32, 500));
        for (Path parent : List.of(memory, pids, cpu, cpuacct)) emptyOut(parent.resolve("d"));
        cg.destroy();
        for (Path parent : List.of(memory, pids, cpu, cpuacct)) {
            assertFalse(Files.exists(parent.resolve("d")), parent + "/d is still there");
        }
        cg.destroy(); // already gone: nothing to do, no error
    }

    @Test
    void aDirectoryThatCannotBeRemovedIsReportedAndTheOthersAreStillRemoved() throws IOException {
        Cgroups.Cgroup cg = new CgroupsV1(Map.of("memory", memory, "pids", pids)).create("stuck", Limits.DEFAULT);
        emptyOut(memory.resolve("stuck"));
        // The pids dir keeps a file, so rmdir keeps failing (as EBUSY would on a real cgroup);
        // its cgroup.procs is empty, so there is no process to kill.
        Files.writeString(pids.resolve("stuck/cgroup.procs"), "");
        IOException e = assertThrows(IOException.class, cg::destroy);
        assertTrue(e.getMessage().contains("cannot remove cgroup") && e.getMessage().contains("stuck"), e.getMessage());
        assertFalse(Files.exists(memory.resolve("stuck")));
        assertTrue(Files.exists(pids.resolve("stuck")));
    }

    @Test
    void comountedCpuAndCpuacctShareOneDirectory() throws IOException {
        Path cpuCpuacct = Files.createDirectories(fake.resolve("cpu,cpuacct/skiff"));
        CgroupsV1 v1 = new CgroupsV1(Map.of("memory", memory, "pids", pids, "cpu", cpuCpuacct, "cpuacct", cpuCpuacct));
        Cgroups.Cgroup cg = v1.create("co", new Limits(64L << 20, 32, 500));
        assertEquals("50000", read(cpuCpuacct.resolve("co/cpu.cfs_quota_us")));
        Files.writeString(cpuCpuacct.resolve("co/cpuacct.usage"), "42\n");
        assertEquals(42, cg.stats().cpuNanos());
    }

    @Test
    void removeAllRemovesEverySandboxCgroupInEveryController() throws IOException {
        CgroupsV1 v1 = all();
        v1.create("left-1", new Limits(64L << 20, 32, 500));
        v1.create("left-2", Limits.DEFAULT);
        for (Path parent : List.of(memory, pids, cpu, cpuacct)) {
            emptyOut(parent.resolve("left-1"));
            emptyOut(parent.resolve("left-2"));
        }
        v1.removeAll();
        for (Path parent : List.of(memory, pids, cpu, cpuacct)) {
            try (Stream<Path> left = Files.list(parent)) {
                assertEquals(List.of(), left.toList(), parent.toString());
            }
            assertTrue(Files.isDirectory(parent), "the group directory itself stays");
        }
    }
}
