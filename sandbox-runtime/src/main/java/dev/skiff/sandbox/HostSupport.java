package dev.skiff.sandbox;

import java.nio.file.Files;
import java.nio.file.Path;

/** Checks that this host can run sandboxes, and says in one line what is missing if not. */
public final class HostSupport {
    private HostSupport() {}

    /** @return null when sandboxes can run here, else a one-line reason. */
    public static String whatIsMissing() {
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) {
            return "sandboxes need Linux (this is " + System.getProperty("os.name") + ")";
        }
        if (!NativeSyscalls.isRoot()) return "sandboxes need root (namespaces, mounts and cgroups); run as root";
        for (String ns : new String[] {"mnt", "pid", "net", "uts", "ipc", "cgroup"}) {
            if (!Files.exists(Path.of("/proc/self/ns/" + ns))) return "this kernel has no " + ns + " namespaces";
        }
        if (!Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers"))
                && !Files.isDirectory(Path.of("/sys/fs/cgroup/memory"))) {
            return "no cgroup hierarchy with the memory controller is mounted at /sys/fs/cgroup";
        }
        return null;
    }
}
