package dev.skiff.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Creates and removes the cgroup(s) of a sandbox. One interface, a v1 and a v2 implementation,
 * chosen by looking at the host (youki's CgroupManager idea).
 */
public interface Cgroups {
    Cgroup create(String sandboxId, Limits limits) throws IOException;

    /** Which hierarchy this is, for messages: "v1" or "v2". */
    String version();

    /** One sandbox's cgroup (on v1, one directory per controller). */
    interface Cgroup {
        /** The cgroup.procs files the sandbox's init writes itself into before anything runs. */
        List<Path> procsFiles();

        SandboxStats stats();

        /** Kills whatever is left inside and removes the directories. */
        void destroy() throws IOException;
    }

    /** Picks the implementation from the host: pure v2 when /sys/fs/cgroup is cgroup2, v1 otherwise. */
    static Cgroups detect() throws IOException {
        Path unifiedRoot = Path.of("/sys/fs/cgroup/cgroup.controllers");
        if (Files.exists(unifiedRoot)) return CgroupsV2.forSelf(Path.of("/sys/fs/cgroup"));
        return CgroupsV1.forSelf();
    }
}
