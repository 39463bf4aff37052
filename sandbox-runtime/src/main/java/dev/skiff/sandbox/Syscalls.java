package dev.skiff.sandbox;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The Linux calls that assemble a sandbox, behind one narrow interface (youki's Syscall trait):
 * the real one acts on the calling thread's namespaces, a recording double lets the mount plan
 * be unit-tested without root.
 */
public interface Syscalls {
    void unshare(int flags) throws IOException;

    void mount(String source, Path target, String fstype, long flags, String data) throws IOException;

    void mkdirs(Path dir) throws IOException;

    void createFile(Path file) throws IOException;

    void symlink(Path link, String target) throws IOException;

    void writeFile(Path file, String content) throws IOException;

    void chown(Path path, int uid, int gid) throws IOException;
}
