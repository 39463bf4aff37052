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

    /**
     * The files a sandbox's init writes "0" into to join the cgroup(s) {@link #create} makes for
     * {@code sandboxId}. Known before the cgroup exists, so the root filesystem can be staged
     * while the cgroup is being created.
     */
    List<Path> joinFiles(String sandboxId);

    /**
     * Kills and removes every sandbox cgroup of this group: the leftovers of a runtime that died
     * (its sandboxes' inits also die with it through their lifeline; this catches the rest).
     */
    void removeAll() throws IOException;

    /** Removes this runtime's (now empty) group directories; for short-lived runtimes such as `fn sandbox run`. */
    void removeGroup() throws IOException;

    /** Which hierarchy this is, for messages: "v1" or "v2". */
    String version();

    /** One sandbox's cgroup (on v1, one directory per controller). */
    interface Cgroup {
        SandboxStats stats();

        /** Kills whatever is left inside and removes the directories. */
        void destroy() throws IOException;
    }

    /**
     * Picks the implementation from the host: pure v2 when /sys/fs/cgroup is cgroup2, v1 otherwise.
     * {@code group} names the directory that holds this runtime's sandboxes, so two runtimes on
     * one host (say, tests beside a running Skiff) never touch each other's sandboxes.
     */
    static Cgroups detect(String group) throws IOException {
        if (!group.matches("[a-z0-9][a-z0-9_.-]*")) throw new IllegalArgumentException("bad cgroup group name: " + group);
        Path unifiedRoot = Path.of("/sys/fs/cgroup/cgroup.controllers");
        if (Files.exists(unifiedRoot)) return CgroupsV2.forSelf(Path.of("/sys/fs/cgroup"), group);
        return CgroupsV1.forSelf(group);
    }

    /** Kills and removes each child directory of {@code parent} (one per sandbox). */
    static void removeChildren(Path parent) throws IOException {
        // A co-mounted hierarchy is listed once per controller; the second pass finds nothing.
        if (!Files.isDirectory(parent)) return;
        try (var children = Files.list(parent)) {
            for (Path child : children.filter(Files::isDirectory).toList()) CgroupFiles.killAndRemove(child);
        }
    }
}
