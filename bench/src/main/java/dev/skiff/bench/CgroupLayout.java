package dev.skiff.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where this JVM's sandbox runtime keeps the cgroups of one group (the same rules as
 * CgroupsV1/CgroupsV2.forSelf, re-derived here so the benchmark reads them without reaching
 * into the runtime): v1 has one group directory per controller, v2 one.
 */
record CgroupLayout(boolean v2, Map<String, Path> groupDirs) {
    private static final Set<String> V1_CONTROLLERS = Set.of("memory", "pids", "cpu", "cpuacct");

    static CgroupLayout of(String group) {
        return of(group, "self");
    }

    /** The group of the sandbox runtime in another process (e.g. a running Skiff): {@code proc} is a PID or "self". */
    static CgroupLayout of(String group, String proc) {
        Path procDir = Path.of("/proc", proc);
        if (Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers"))) {
            String self = "/";
            for (String line : Procfs.read(procDir.resolve("cgroup")).split("\n")) {
                if (line.startsWith("0::")) self = line.substring(3);
            }
            Path own = Path.of("/sys/fs/cgroup").resolve(self.substring(1));
            // CgroupsV2 moved this JVM into "<own>/supervisor"; the group sits beside it.
            if (own.getFileName() != null && own.getFileName().toString().equals("supervisor")) own = own.getParent();
            return new CgroupLayout(true, Map.of("unified", own.resolve(group)));
        }
        Map<String, Path> mounts = new LinkedHashMap<>();
        for (String line : Procfs.read(procDir.resolve("mountinfo")).split("\n")) {
            int dash = line.indexOf(" - ");
            if (dash < 0) continue;
            String[] pre = line.substring(0, dash).split(" ");
            String[] post = line.substring(dash + 3).split(" ");
            if (post.length < 3 || !post[0].equals("cgroup")) continue;
            for (String opt : post[2].split(",")) {
                if (V1_CONTROLLERS.contains(opt)) mounts.putIfAbsent(opt, Path.of(pre[4]));
            }
        }
        Map<String, String> self = new LinkedHashMap<>();
        for (String line : Procfs.read(procDir.resolve("cgroup")).split("\n")) {
            String[] parts = line.split(":", 3);
            if (parts.length != 3) continue;
            for (String c : parts[1].split(",")) if (!c.isEmpty()) self.put(c, parts[2]);
        }
        Map<String, Path> dirs = new LinkedHashMap<>();
        for (var e : mounts.entrySet()) {
            String path = self.getOrDefault(e.getKey(), "/");
            dirs.put(e.getKey(), e.getValue().resolve(path.substring(1)).resolve(group));
        }
        return new CgroupLayout(false, dirs);
    }

    String version() {
        return v2 ? "v2" : "v1";
    }

    /** The directory with the memory controller's files for one sandbox (or the group itself with null). */
    Path memoryDir(String sandboxId) {
        Path g = v2 ? groupDirs.get("unified") : groupDirs.get("memory");
        return sandboxId == null ? g : g.resolve(sandboxId);
    }

    long memoryUsage(String sandboxId) {
        Path d = memoryDir(sandboxId);
        return Procfs.readLong(d.resolve(v2 ? "memory.current" : "memory.usage_in_bytes"));
    }

    /** Kernel memory charged to the cgroup (slab, stacks, page tables...), where the kernel reports it. */
    long kernelMemory(String sandboxId) {
        return kernelMemoryOf(memoryDir(sandboxId));
    }

    long kernelMemoryOf(Path dir) {
        if (v2) return Procfs.keyed(dir.resolve("memory.stat")).getOrDefault("kernel", 0L);
        return Procfs.readLong(dir.resolve("memory.kmem.usage_in_bytes"));
    }

    /**
     * The memory cgroup the runtime (this JVM) itself is charged to: the group's parent. What
     * the launcher thread allocates before skiff-init joins the sandbox's cgroup (the network,
     * mount, UTS, IPC and PID namespaces, the staged mounts) is charged here, not to the sandbox.
     */
    Path runtimeMemoryDir() {
        return memoryDir(null).getParent();
    }

    boolean runtimeIsRootCgroup() {
        Path p = runtimeMemoryDir();
        return p.equals(Path.of("/sys/fs/cgroup")) || p.equals(Path.of("/sys/fs/cgroup/memory"));
    }

    /** Anonymous memory (v1 "rss", v2 "anon"). */
    long anonMemory(String sandboxId) {
        Map<String, Long> stat = Procfs.keyed(memoryDir(sandboxId).resolve("memory.stat"));
        return v2 ? stat.getOrDefault("anon", 0L) : stat.getOrDefault("rss", 0L);
    }

    /** Page cache and tmpfs (v1 "cache", v2 "file"). */
    long fileMemory(String sandboxId) {
        Map<String, Long> stat = Procfs.keyed(memoryDir(sandboxId).resolve("memory.stat"));
        return v2 ? stat.getOrDefault("file", 0L) : stat.getOrDefault("cache", 0L);
    }

    List<Long> pids(String sandboxId) {
        return Procfs.pids(memoryDir(sandboxId).resolve("cgroup.procs"));
    }

    /** Sandbox cgroups still present in any controller of the group. */
    List<Path> leftovers() {
        return groupDirs.values().stream().distinct().flatMap(d -> Procfs.childDirs(d).stream()).toList();
    }
}
