package dev.skiff.sandbox;

import java.nio.file.Path;

/** One thing placed in a sandbox's root filesystem. Targets are absolute paths inside the sandbox. */
public sealed interface RootfsEntry {
    String target();

    /**
     * An unpacked image (see {@link ImageStore}) used as the root instead of the empty tmpfs
     * root. It is bind-mounted read-only, nosuid, nodev: it is shared by every sandbox made from
     * the image, so nothing is ever written into it. Must be the first entry. Mount points of
     * the other entries must already exist in the image, or lie under an earlier Tmpfs or Bind;
     * File and Symlink entries cannot be written into it and are refused.
     */
    record ImageRoot(Path rootfsDir) implements RootfsEntry {
        public ImageRoot {
            if (rootfsDir == null || !rootfsDir.isAbsolute()) {
                throw new IllegalArgumentException("an image root must be an absolute host path: " + rootfsDir);
            }
            rootfsDir = rootfsDir.normalize();
        }

        @Override
        public String target() {
            return "/";
        }
    }

    /** A host file or directory bind-mounted at {@code target}. */
    record Bind(Path source, String target, boolean readOnly) implements RootfsEntry {}

    /** A size-limited writable tmpfs. */
    record Tmpfs(String target, long sizeBytes, String mode) implements RootfsEntry {}

    /** A symbolic link, e.g. /lib -> usr/lib on merged-/usr hosts. */
    record Symlink(String target, String linkTo) implements RootfsEntry {}

    /** A small file written into the (afterwards read-only) root, e.g. /etc/passwd. */
    record File(String target, String content) implements RootfsEntry {}

    static RootfsEntry readOnly(Path source, String target) {
        return new Bind(source, target, true);
    }

    static RootfsEntry writable(Path source, String target) {
        return new Bind(source, target, false);
    }
}
