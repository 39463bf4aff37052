package dev.skiff.sandbox;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Real system calls. Everything here acts on the calling thread: after {@link #unshare} the
 * thread has its own mount namespace, and file operations made from it see that namespace.
 */
public final class NativeSyscalls implements Syscalls {
    public static final NativeSyscalls INSTANCE = new NativeSyscalls();

    private NativeSyscalls() {}

    @Override
    public void unshare(int flags) throws IOException {
        try {
            LibC.unshare(flags);
        } catch (LastErrorException e) {
            throw failure("unshare(0x" + Integer.toHexString(flags) + ")", e);
        }
    }

    @Override
    public void mount(String source, Path target, String fstype, long flags, String data) throws IOException {
        try {
            LibC.mount(source, target.toString(), fstype, new NativeLong(flags), data);
        } catch (LastErrorException e) {
            throw failure("mount " + (source == null ? "" : source + " ") + "on " + target
                    + (fstype == null ? "" : " (" + fstype + ")"), e);
        }
    }

    @Override
    public void mkdirs(Path dir) throws IOException {
        Files.createDirectories(dir);
    }

    @Override
    public void createFile(Path file) throws IOException {
        if (!Files.exists(file)) Files.createFile(file);
    }

    @Override
    public void symlink(Path link, String target) throws IOException {
        Files.createSymbolicLink(link, Path.of(target));
    }

    @Override
    public void writeFile(Path file, String content) throws IOException {
        Files.writeString(file, content, StandardCharsets.UTF_8);
    }

    @Override
    public void chown(Path path, int uid, int gid) throws IOException {
        try {
            LibC.chown(path.toString(), uid, gid);
        } catch (LastErrorException e) {
            throw failure("chown " + path, e);
        }
    }

    static long gettid() {
        return LibC.syscall(new NativeLong(Linux.SYS_GETTID)).longValue();
    }

    static boolean isRoot() {
        return LibC.geteuid() == 0;
    }

    static void kill(long pid, int signal) {
        try {
            LibC.kill((int) pid, signal);
        } catch (LastErrorException ignored) {
            // already gone
        }
    }

    private static IOException failure(String what, LastErrorException e) {
        return new IOException(what + ": " + LibC.strerror(e.getErrorCode()) + " (errno " + e.getErrorCode() + ")");
    }
}
