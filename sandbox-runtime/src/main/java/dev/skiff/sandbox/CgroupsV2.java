package dev.skiff.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * cgroup v2: one unified hierarchy. Because of the "no internal processes" rule, a cgroup that
 * holds processes cannot hand controllers to children; so Skiff's own process moves into a
 * leaf "supervisor" beside a "sandboxes" subtree (what systemd's delegation docs advise).
 *
 * <pre>
 *   &lt;own cgroup&gt;/            subtree_control: +memory +pids +cpu
 *     supervisor/           the JVM
 *     sandboxes/            subtree_control: +memory +pids +cpu
 *       &lt;sandbox id&gt;/       memory.max, memory.swap.max=0, pids.max, cpu.max
 * </pre>
 */
public final class CgroupsV2 implements Cgroups {
    private static final String CONTROLLERS = "+memory +pids +cpu";
    private final Path sandboxes;

    /** @param sandboxes an existing directory whose children get memory, pids and cpu controllers */
    public CgroupsV2(Path sandboxes) {
        this.sandboxes = sandboxes;
    }

    static CgroupsV2 forSelf(Path mount, String group) throws IOException {
        String self = "/";
        for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"), StandardCharsets.UTF_8)) {
            if (line.startsWith("0::")) self = line.substring(3);
        }
        return prepare(mount.resolve(self.substring(1)), ProcessHandle.current().pid(), group);
    }

    static CgroupsV2 prepare(Path own, long selfPid) throws IOException {
        return prepare(own, selfPid, "sandboxes");
    }

    /** Sets up the layout above under {@code own}, moving {@code selfPid} into the supervisor leaf. */
    static CgroupsV2 prepare(Path own, long selfPid, String group) throws IOException {
        Path supervisor = own.resolve("supervisor");
        Path sandboxes = own.resolve(group);
        if (!own.getFileName().toString().equals("supervisor")) {
            Files.createDirectories(supervisor);
            CgroupFiles.write(supervisor.resolve("cgroup.procs"), Long.toString(selfPid));
        } else {
            // Already moved by an earlier start: the sandboxes live beside us.
            own = own.getParent();
            sandboxes = own.resolve(group);
        }
        CgroupFiles.write(own.resolve("cgroup.subtree_control"), CONTROLLERS);
        Files.createDirectories(sandboxes);
        CgroupFiles.write(sandboxes.resolve("cgroup.subtree_control"), CONTROLLERS);
        return new CgroupsV2(sandboxes);
    }

    @Override
    public String version() {
        return "v2";
    }

    @Override
    public void removeGroup() throws IOException {
        removeAll();
        CgroupFiles.killAndRemove(sandboxes);
    }

    @Override
    public void removeAll() throws IOException {
        Cgroups.removeChildren(sandboxes);
    }

    @Override
    public Cgroup create(String sandboxId, Limits limits) throws IOException {
        Path dir = sandboxes.resolve(sandboxId);
        Files.createDirectory(dir);
        try {
            CgroupFiles.write(dir.resolve("memory.max"), Long.toString(limits.memoryBytes()));
            Path swap = dir.resolve("memory.swap.max");
            if (Files.exists(swap)) CgroupFiles.write(swap, "0");
            CgroupFiles.write(dir.resolve("pids.max"), Integer.toString(limits.pids()));
            if (limits.cpuWeight() != Limits.DEFAULT_CPU_WEIGHT) {
                CgroupFiles.write(dir.resolve("cpu.weight"), Integer.toString(limits.cpuWeight()));
            }
            if (limits.cpuMillis() > 0) {
                long period = 100_000;
                CgroupFiles.write(dir.resolve("cpu.max"), (period * limits.cpuMillis() / 1000) + " " + period);
            }
        } catch (IOException | RuntimeException e) {
            CgroupFiles.killAndRemove(dir);
            throw e;
        }
        return new V2Cgroup(dir);
    }

    /**
     * v2 moves a thread only inside a threaded subtree, so init joins with "cgroup.procs" (and
     * pays the threadgroup lock that v1's "tasks" avoids; clone3's CLONE_INTO_CGROUP would not).
     */
    @Override
    public List<Path> joinFiles(String sandboxId) {
        return List.of(sandboxes.resolve(sandboxId).resolve("cgroup.procs"));
    }

    private record V2Cgroup(Path dir) implements Cgroup {
        @Override
        public SandboxStats stats() {
            Map<String, Long> cpu = CgroupFiles.readKeyed(dir.resolve("cpu.stat"));
            Map<String, Long> events = CgroupFiles.readKeyed(dir.resolve("memory.events"));
            return new SandboxStats(
                    CgroupFiles.readLong(dir.resolve("memory.current"), 0),
                    CgroupFiles.readLong(dir.resolve("memory.peak"), 0),
                    cpu.getOrDefault("usage_usec", 0L) * 1000,
                    events.getOrDefault("oom_kill", 0L));
        }

        @Override
        public void destroy() throws IOException {
            CgroupFiles.killAndRemove(dir);
        }
    }
}
