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
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Assembles a sandbox's root filesystem under a staging directory, inside the calling thread's
 * fresh mount namespace. The host only ever sees an empty staging directory. skiff-init later
 * mounts /proc and pivots into the result.
 *
 * <p>The root itself is a small tmpfs that holds only mount points and tiny files, and it is
 * made read-only at the end; writable places are explicit tmpfs mounts with a size. With an
 * {@link RootfsEntry.ImageRoot} the root is instead the unpacked image, bound read-only at once;
 * /dev, /proc and the other entries are mounted on top of it the same way.
 */
final class RootfsBuilder {
    /** The minimal /dev runc and Docker give a container. */
    static final List<String> DEVICES = List.of("null", "zero", "full", "random", "urandom", "tty");

    private static final long RO = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV;
    private static final long RW = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;

    private RootfsBuilder() {}

    static void build(Path root, SandboxSpec spec, Syscalls sys) throws IOException {
        RootfsEntry.ImageRoot image = spec.imageRoot().orElse(null);
        // Checked before anything is mounted: a refused plan leaves nothing half-built.
        if (image != null) checkMountPointsInImage(image.rootfsDir(), spec);

        // Nothing mounted from here on may propagate back to the host (or to other sandboxes).
        sys.mount(null, Path.of("/"), null, MS_REC | MS_PRIVATE, null);
        if (image == null) {
            sys.mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755");
        } else {
            // The image is shared by every sandbox made from it: read-only from the first moment,
            // so nothing below (mkdirs of existing mount points) can ever write into it.
            sys.mount(image.rootfsDir().toString(), root, null, MS_BIND, null);
            sys.mount(null, root, null, RO, null);
        }

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
                case RootfsEntry.ImageRoot i -> {
                    // mounted first, above
                }
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
        if (image == null && spec.network() == SandboxSpec.Network.OUTBOUND
                && spec.rootfs().stream().noneMatch(e -> e.target().equals("/etc/resolv.conf"))) {
            // (an image brings its own /etc/resolv.conf, or the caller binds one)
            Path resolv = under(root, "/etc/resolv.conf");
            sys.mkdirs(resolv.getParent());
            sys.writeFile(resolv, OutboundNetwork.RESOLV_CONF);
        }
        if (image == null) remountReadOnly(root, sys);
    }

    /**
     * An image root is read-only, so every mount point the plan needs in it must already be
     * there, of the right kind, reached without a symlink (mount(2) would follow one, possibly
     * out of the root). Targets under an earlier writable mount (/dev, a Tmpfs, a Bind) are
     * created there as usual and are not checked here.
     */
    static void checkMountPointsInImage(Path image, SandboxSpec spec) {
        List<String> mounted = new ArrayList<>(List.of("/dev"));
        requireInImage(image, "/dev", true);
        requireInImage(image, "/proc", true);
        for (RootfsEntry entry : spec.rootfs()) {
            if (entry instanceof RootfsEntry.ImageRoot) continue;
            String target = entry.target();
            boolean directory = switch (entry) {
                case RootfsEntry.ImageRoot i -> true;
                case RootfsEntry.Bind b -> Files.isDirectory(b.source());
                case RootfsEntry.Tmpfs t -> true;
                // refused by SandboxSpec with an image root
                case RootfsEntry.Symlink l -> throw new IllegalArgumentException("symlink " + target + " in an image root");
                case RootfsEntry.File f -> throw new IllegalArgumentException("file " + target + " in an image root");
            };
            Path normal = Path.of(target).normalize();
            if (mounted.stream().noneMatch(m -> normal.startsWith(m))) requireInImage(image, normal.toString(), directory);
            mounted.add(normal.toString());
        }
    }

    private static void requireInImage(Path image, String target, boolean directory) {
        Path p = under(image, target);
        Path walked = image;
        for (Path part : image.relativize(p)) {
            walked = walked.resolve(part);
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(walked, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                throw new IllegalArgumentException("mount point " + target + " does not exist in the image " + image
                        + " (an image root is read-only: mount points must be in the image, or under a Tmpfs entry)");
            }
            if (a.isSymbolicLink()) {
                throw new IllegalArgumentException("mount point " + target + " goes through the symlink /" + image.relativize(walked)
                        + " in the image " + image);
            }
            if (!walked.equals(p) && !a.isDirectory()) {
                throw new IllegalArgumentException("mount point " + target + ": /" + image.relativize(walked)
                        + " is not a directory in the image " + image);
            }
            if (walked.equals(p) && a.isDirectory() != directory) {
                throw new IllegalArgumentException("mount point " + target + " is a " + (a.isDirectory() ? "directory" : "file")
                        + " in the image " + image + ", but a " + (directory ? "directory" : "file") + " is mounted there");
            }
        }
    }

    /**
     * The read-only remount fails with EBUSY while any process holds a file of this tmpfs open for
     * writing. Only a concurrent spawn's short-lived copy of the JVM's fd table can (until its
     * close-from action runs), so a few quick retries are enough.
     */
    private static void remountReadOnly(Path root, Syscalls sys) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                sys.mount(null, root, null, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, null);
                return;
            } catch (IOException e) {
                if (attempt >= 50 || e.getMessage() == null || !e.getMessage().contains("errno 16")) throw e;
                try {
                    Thread.sleep(1);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
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
