package dev.skiff.sandbox;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An image unpacked by {@link ImageStore}: where its root filesystem is, and what its config
 * says about running it.
 *
 * @param id     the image's content address, {@code sha256:HEX}
 * @param rootfs the unpacked root filesystem; shared, never to be written to
 * @param config Env, Entrypoint/Cmd, WorkingDir, User from the image config
 */
public record UnpackedImage(String id, Path rootfs, ImageConfig config) {
    /** The rootfs entry that makes this image a sandbox's root; it must be the spec's first entry. */
    public RootfsEntry.ImageRoot rootEntry() {
        return new RootfsEntry.ImageRoot(rootfs);
    }

    /**
     * A spec builder with this image as the root, the image's Env and WorkingDir, and its
     * Entrypoint + Cmd as the command when that starts with an absolute path (a sandbox does not
     * search PATH for argv[0]; otherwise set the command yourself). The image's User is not
     * applied: the caller chooses the (never root) uid/gid. Add a Tmpfs for /tmp and the
     * function's binds; their mount points must exist in the image.
     */
    public SandboxSpec.Builder spec(String sandboxId) {
        SandboxSpec.Builder b = SandboxSpec.builder(sandboxId).add(rootEntry()).env(config.envMap());
        if (config.workingDir() != null) b.cwd(config.workingDir());
        List<String> command = config.command();
        if (!command.isEmpty() && command.get(0).startsWith("/")) b.command(command);
        return b;
    }

    /** Where a bare command name is looked up, in this order. */
    public static final List<String> BIN_DIRS = List.of("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin");

    /**
     * argv[0] must be absolute inside a sandbox (nothing searches PATH for it): a bare name is
     * looked up in {@link #BIN_DIRS} of the root the sandbox will have ({@code root} on the host).
     *
     * @throws IllegalArgumentException when the name is in none of them
     */
    public static List<String> resolve(List<String> command, Path root) {
        String cmd = command.get(0);
        if (cmd.startsWith("/")) return command;
        for (String dir : BIN_DIRS) {
            if (Files.exists(root.resolve(dir.substring(1)).resolve(cmd), LinkOption.NOFOLLOW_LINKS)) {
                List<String> c = new ArrayList<>(command);
                c.set(0, dir + "/" + cmd);
                return c;
            }
        }
        throw new IllegalArgumentException("command not found in the sandbox's " + String.join(", ", BIN_DIRS) + ": " + cmd);
    }
}
