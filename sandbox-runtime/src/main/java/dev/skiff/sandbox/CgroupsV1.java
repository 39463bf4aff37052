package dev.skiff.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * cgroup v1: one hierarchy per controller. A sandbox gets a directory in each of memory, pids,
 * cpu and cpuacct, under the JVM's own cgroup in that hierarchy plus "/&lt;group&gt;" (so Skiff stays
 * inside whatever cgroup it was started in).
 */
public final class CgroupsV1 implements Cgroups {
    static final List<String> REQUIRED = List.of("memory", "pids");
    static final List<String> OPTIONAL = List.of("cpu", "cpuacct");

    /** controller name -> directory that holds the sandboxes' cgroups for it. */
    private final Map<String, Path> parents;

    public CgroupsV1(Map<String, Path> parents) {
        for (String c : REQUIRED) {
            if (!parents.containsKey(c)) throw new IllegalStateException("cgroup v1 controller '" + c + "' is not mounted");
        }
        this.parents = Map.copyOf(parents);
    }

    static CgroupsV1 forSelf(String group) throws IOException {
        Map<String, Path> mounts = controllerMounts(Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8));
        Map<String, String> selfPaths = selfPaths(Files.readAllLines(Path.of("/proc/self/cgroup"), StandardCharsets.UTF_8));
        Map<String, Path> parents = new LinkedHashMap<>();
        for (String c : concat(REQUIRED, OPTIONAL)) {
            Path mount = mounts.get(c);
            if (mount == null) continue;
            String self = selfPaths.getOrDefault(c, "/");
            Path parent = mount.resolve(self.substring(1)).resolve(group);
            Files.createDirectories(parent);
            parents.put(c, parent);
        }
        return new CgroupsV1(parents);
    }

    /** Parses /proc/self/mountinfo for cgroup (v1) mounts; returns controller -> mount point. */
    static Map<String, Path> controllerMounts(List<String> mountinfo) {
        Map<String, Path> result = new LinkedHashMap<>();
        for (String line : mountinfo) {
            int dash = line.indexOf(" - ");
            if (dash < 0) continue;
            String[] pre = line.substring(0, dash).split(" ");
            String[] post = line.substring(dash + 3).split(" ");
            if (post.length < 3 || !post[0].equals("cgroup")) continue;
            for (String opt : post[2].split(",")) {
                if (concat(REQUIRED, OPTIONAL).contains(opt)) result.putIfAbsent(opt, Path.of(pre[4]));
            }
        }
        return result;
    }

    /** Parses /proc/self/cgroup ("id:controllers:path" lines); returns controller -> path. */
    static Map<String, String> selfPaths(List<String> procSelfCgroup) {
        Map<String, String> result = new LinkedHashMap<>();
        for (String line : procSelfCgroup) {
            String[] parts = line.split(":", 3);
            if (parts.length != 3) continue;
            for (String c : parts[1].split(",")) {
                if (!c.isEmpty()) result.put(c, parts[2]);
            }
        }
        return result;
    }

    @Override
    public String version() {
        return "v1";
    }

    @Override
    public void removeGroup() throws IOException {
        removeAll();
        for (Path parent : parents.values().stream().distinct().toList()) CgroupFiles.killAndRemove(parent);
    }

    @Override
    public void removeAll() throws IOException {
        for (Path parent : parents.values()) Cgroups.removeChildren(parent);
    }

    @Override
    public Cgroup create(String sandboxId, Limits limits) throws IOException {
        Map<String, Path> dirs = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Path> e : parents.entrySet()) {
                Path dir = e.getValue().resolve(sandboxId);
                // Co-mounted controllers (cpu,cpuacct) share one hierarchy and so one directory.
                if (!dirs.containsValue(dir)) Files.createDirectory(dir);
                dirs.put(e.getKey(), dir);
            }
            Path memory = dirs.get("memory");
            CgroupFiles.write(memory.resolve("memory.limit_in_bytes"), Long.toString(limits.memoryBytes()));
            // Swap off: memory+swap capped at the same value (absent when the kernel has no swap accounting).
            Path memsw = memory.resolve("memory.memsw.limit_in_bytes");
            if (Files.exists(memsw)) CgroupFiles.write(memsw, Long.toString(limits.memoryBytes()));
            CgroupFiles.write(dirs.get("pids").resolve("pids.max"), Integer.toString(limits.pids()));
            Path cpu = dirs.get("cpu");
            if (cpu != null && limits.cpuWeight() != Limits.DEFAULT_CPU_WEIGHT) {
                long shares = Math.max(2, (long) limits.cpuWeight() * 1024 / 100);
                CgroupFiles.write(cpu.resolve("cpu.shares"), Long.toString(shares));
            }
            if (cpu != null && limits.cpuMillis() > 0) {
                long period = 100_000;
                CgroupFiles.write(cpu.resolve("cpu.cfs_period_us"), Long.toString(period));
                CgroupFiles.write(cpu.resolve("cpu.cfs_quota_us"), Long.toString(period * limits.cpuMillis() / 1000));
            }
        } catch (IOException | RuntimeException e) {
            for (Path d : dirs.values().stream().distinct().toList()) CgroupFiles.killAndRemove(d);
            throw e;
        }
        return new V1Cgroup(dirs);
    }

    /**
     * The "tasks" files, not "cgroup.procs": moving a whole process takes the kernel's global
     * cgroup_threadgroup_rwsem for writing, which on a default mount waits for an RCU grace
     * period (about 11 ms on a 2-vCPU VM, most of a sandbox start). Moving only the calling
     * thread (writing "0" to "tasks") skips that lock, and init is single-threaded when it joins,
     * so its thread is the whole process.
     */
    @Override
    public List<Path> joinFiles(String sandboxId) {
        return parents.values().stream().distinct().map(p -> p.resolve(sandboxId).resolve("tasks")).toList();
    }

    private record V1Cgroup(Map<String, Path> dirs) implements Cgroup {
        @Override
        public SandboxStats stats() {
            Path memory = dirs.get("memory");
            Path cpuacct = dirs.get("cpuacct");
            long oom = CgroupFiles.readKeyed(memory.resolve("memory.oom_control")).getOrDefault("oom_kill", 0L);
            return new SandboxStats(
                    CgroupFiles.readLong(memory.resolve("memory.usage_in_bytes"), 0),
                    CgroupFiles.readLong(memory.resolve("memory.max_usage_in_bytes"), 0),
                    cpuacct == null ? 0 : CgroupFiles.readLong(cpuacct.resolve("cpuacct.usage"), 0),
                    oom);
        }

        @Override
        public void destroy() throws IOException {
            IOException first = null;
            for (Path d : dirs.values().stream().distinct().toList()) {
                try {
                    CgroupFiles.killAndRemove(d);
                } catch (IOException e) {
                    if (first == null) first = e;
                }
            }
            if (first != null) throw first;
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
