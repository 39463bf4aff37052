package dev.skiff.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A runtime layer made of host directories, shared read-only by every sandbox (the skeleton's
 * answer to an image layer). Merged-/usr hosts have /lib, /bin… as symlinks into /usr; those are
 * recreated as symlinks instead of being bound twice.
 */
public final class HostLayer {
    private HostLayer() {}

    public static final List<String> SYSTEM_DIRS = List.of("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin");

    public static List<RootfsEntry> of(List<String> hostPaths) {
        List<RootfsEntry> entries = new ArrayList<>();
        for (String p : hostPaths) {
            Path host = Path.of(p);
            try {
                if (Files.isSymbolicLink(host)) {
                    entries.add(new RootfsEntry.Symlink(p, Files.readSymbolicLink(host).toString()));
                } else if (Files.exists(host)) {
                    entries.add(RootfsEntry.readOnly(host, p));
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot read host path " + p + ": " + e.getMessage(), e);
            }
        }
        return entries;
    }

    /** A minimal /etc: who the sandbox user is, and that localhost is loopback. Nothing of the host's /etc. */
    public static List<RootfsEntry> minimalEtc(int uid, int gid, String user) {
        return List.of(
                new RootfsEntry.File("/etc/passwd",
                        "root:x:0:0:root:/:/sbin/nologin\n" + user + ":x:" + uid + ":" + gid + ":" + user + ":/tmp:/sbin/nologin\n"),
                new RootfsEntry.File("/etc/group", "root:x:0:\n" + user + ":x:" + gid + ":\n"),
                new RootfsEntry.File("/etc/hosts", "127.0.0.1 localhost\n::1 localhost\n"),
                new RootfsEntry.File("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n"));
    }
}
