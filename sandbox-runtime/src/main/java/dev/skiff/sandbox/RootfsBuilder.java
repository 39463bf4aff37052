package dev.skiff.sandbox;

import static dev.skiff.sandbox.Linux.MS_BIND;
import static dev.skiff.sandbox.Linux.MS_NODEV;
import static dev.skiff.sandbox.Linux.MS_NOEXEC;
import static dev.skiff.sandbox.Linux.MS_NOSUID;
import static dev.skiff.sandbox.Linux.MS_PRIVATE;
import static dev.skiff.sandbox.Linux.MS_RDONLY;
import static dev.skiff.sandbox.Linux.MS_REC;
import static dev.skiff.sandbox.Linux.MS_REMOUNT;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Assembles a sandbox's root filesystem under a staging directory, inside the calling thread's
 * fresh mount namespace. The host only ever sees an empty staging directory. skiff-init later
 * mounts /proc and pivots into the result.
 *
 * <p>The root itself is a small tmpfs that holds only mount points and tiny files, and it is
 * made read-only at the end; writable places are explicit tmpfs mounts with a size.
 */
final class RootfsBuilder {
    /** The minimal /dev runc and Docker give a container. */
    static final List<String> DEVICES = List.of("null", "zero", "full", "random", "urandom", "tty");

    private static final long RO = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV;
    private static final long RW = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;

    private RootfsBuilder() {}

    static void build(Path root, SandboxSpec spec, Syscalls sys) throws IOException {
        // Nothing mounted from here on may propagate back to the host (or to other sandboxes).
        sys.mount(null, Path.of("/"), null, MS_REC | MS_PRIVATE, null);
        sys.mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755");

        Path dev = under(root, "/dev");
        sys.mkdirs(dev);
        sys.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755");
        for (String name : DEVICES) {
            Path node = dev.resolve(name);
            sys.createFile(node);
            sys.mount("/dev/" + name, node, null, MS_BIND, null);
        }
        sys.symlink(dev.resolve("fd"), "/proc/self/fd");
        sys.symlink(dev.resolve("stdin"), "/proc/self/fd/0");
        sys.symlink(dev.resolve("stdout"), "/proc/self/fd/1");
        sys.symlink(dev.resolve("stderr"), "/proc/self/fd/2");
        sys.mkdirs(under(root, "/proc"));

        for (RootfsEntry entry : spec.rootfs()) {
            Path target = under(root, entry.target());
            switch (entry) {
                case RootfsEntry.Bind b -> {
                    if (Files.isDirectory(b.source())) {
                        sys.mkdirs(target);
                    } else {
                        sys.mkdirs(target.getParent());
                        sys.createFile(target);
                    }
                    sys.mount(b.source().toString(), target, null, MS_BIND | MS_REC, null);
                    sys.mount(null, target, null, b.readOnly() ? RO : RW, null);
                }
                case RootfsEntry.Tmpfs t -> {
                    sys.mkdirs(target);
                    sys.mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
                            "size=" + t.sizeBytes() + ",mode=" + t.mode());
                }
                case RootfsEntry.Symlink s -> {
                    sys.mkdirs(target.getParent());
                    sys.symlink(target, s.linkTo());
                }
                case RootfsEntry.File f -> {
                    sys.mkdirs(target.getParent());
                    sys.writeFile(target, f.content());
                }
            }
        }
        if (spec.network() == SandboxSpec.Network.OUTBOUND
                && spec.rootfs().stream().noneMatch(e -> e.target().equals("/etc/resolv.conf"))) {
            Path resolv = under(root, "/etc/resolv.conf");
            sys.mkdirs(resolv.getParent());
            sys.writeFile(resolv, OutboundNetwork.RESOLV_CONF);
        }
        sys.mount(null, root, null, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, null);
    }

    /** Resolves a sandbox path under the staging root, refusing anything that would climb out. */
    static Path under(Path root, String sandboxPath) {
        if (!sandboxPath.startsWith("/")) throw new IllegalArgumentException("not absolute: " + sandboxPath);
        Path p = root.resolve(sandboxPath.substring(1)).normalize();
        if (!p.startsWith(root) || p.equals(root) && !sandboxPath.equals("/")) {
            throw new IllegalArgumentException("path escapes the sandbox root: " + sandboxPath);
        }
        return p;
    }
}
