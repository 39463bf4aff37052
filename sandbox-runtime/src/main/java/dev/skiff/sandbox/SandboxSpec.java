package dev.skiff.sandbox;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Everything needed to create one sandbox. The runtime adds what every sandbox has: a read-only
 * root (a small tmpfs, or an unpacked image when the first entry is a {@link RootfsEntry.ImageRoot}),
 * a minimal /dev, its own /proc, a loopback-only network.
 *
 * @param fileSizeLimit largest file the function may write, in bytes (RLIMIT_FSIZE: a write
 *                      past it fails with EFBIG, or kills with SIGXFSZ a program that does not
 *                      ignore that signal); 0 means no limit
 * @param network       {@link Network#NONE}: loopback only, nothing else reachable (the default);
 *                      {@link Network#OUTBOUND}: connections out to the world through a user-mode
 *                      NAT (slirp4netns), still nothing on the host's own loopback
 */
public record SandboxSpec(
        String id,
        List<RootfsEntry> rootfs,
        String hostname,
        int uid,
        int gid,
        List<String> argv,
        Map<String, String> env,
        String cwd,
        Limits limits,
        long fileSizeLimit,
        Network network) {

    /** What the sandbox's network namespace can reach. */
    public enum Network { NONE, OUTBOUND }

    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,127}");

    public SandboxSpec {
        Objects.requireNonNull(id, "id");
        if (!ID.matcher(id).matches()) throw new IllegalArgumentException("bad sandbox id: " + id);
        rootfs = List.copyOf(rootfs);
        checkImageRoot(rootfs);
        argv = List.copyOf(argv);
        if (argv.isEmpty()) throw new IllegalArgumentException("argv is empty");
        if (!argv.get(0).startsWith("/")) throw new IllegalArgumentException("argv[0] must be an absolute path: " + argv.get(0));
        env = Map.copyOf(env);
        if (uid <= 0 || gid <= 0) throw new IllegalArgumentException("a sandbox never runs as root (uid/gid 0)");
        Objects.requireNonNull(limits, "limits");
        if (hostname == null || hostname.isEmpty()) hostname = id;
        if (cwd == null) cwd = "/";
        if (fileSizeLimit < 0) throw new IllegalArgumentException("file size limit must not be negative: " + fileSizeLimit);
        if (network == null) network = Network.NONE;
    }

    /** A spec without a file size limit. */
    public SandboxSpec(String id, List<RootfsEntry> rootfs, String hostname, int uid, int gid, List<String> argv,
            Map<String, String> env, String cwd, Limits limits) {
        this(id, rootfs, hostname, uid, gid, argv, env, cwd, limits, 0, Network.NONE);
    }

    /** The image this sandbox's root is made of, if any (always the first entry). */
    public Optional<RootfsEntry.ImageRoot> imageRoot() {
        return !rootfs.isEmpty() && rootfs.get(0) instanceof RootfsEntry.ImageRoot image ? Optional.of(image) : Optional.empty();
    }

    private static void checkImageRoot(List<RootfsEntry> rootfs) {
        boolean image = false;
        for (int i = 0; i < rootfs.size(); i++) {
            RootfsEntry e = rootfs.get(i);
            if (e instanceof RootfsEntry.ImageRoot && i > 0) {
                throw new IllegalArgumentException("an image root must be the first rootfs entry (found at position " + (i + 1) + ")");
            }
            if (e instanceof RootfsEntry.ImageRoot) image = true;
            if (image && (e instanceof RootfsEntry.File || e instanceof RootfsEntry.Symlink)) {
                throw new IllegalArgumentException("cannot create " + e.target() + " in a read-only image root: put it in the image,"
                        + " or bind-mount it onto a file that the image has");
            }
        }
    }

    public static Builder builder(String id) {
        return new Builder(id);
    }

    public static final class Builder {
        private final String id;
        private final List<RootfsEntry> rootfs = new ArrayList<>();
        private String hostname;
        private int uid = 65534;
        private int gid = 65534;
        private final List<String> argv = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private String cwd = "/";
        private Limits limits = Limits.DEFAULT;
        private long fileSizeLimit;
        private Network network = Network.NONE;

        private Builder(String id) {
            this.id = id;
        }

        public Builder add(RootfsEntry entry) { rootfs.add(entry); return this; }
        public Builder addAll(List<RootfsEntry> entries) { rootfs.addAll(entries); return this; }
        public Builder hostname(String h) { hostname = h; return this; }
        public Builder user(int u, int g) { uid = u; gid = g; return this; }
        public Builder command(List<String> a) { argv.clear(); argv.addAll(a); return this; }
        public Builder command(String... a) { return command(List.of(a)); }
        public Builder env(String k, String v) { env.put(k, v); return this; }
        public Builder env(Map<String, String> m) { env.putAll(m); return this; }
        public Builder cwd(String c) { cwd = c; return this; }
        public Builder limits(Limits l) { limits = l; return this; }
        /** Largest file the function may write, in bytes; 0 (the default) means no limit. */
        public Builder fileSizeLimit(long bytes) { fileSizeLimit = bytes; return this; }
        public Builder network(Network n) { network = n; return this; }

        public SandboxSpec build() {
            return new SandboxSpec(id, rootfs, hostname, uid, gid, argv, env, cwd, limits, fileSizeLimit, network);
        }
    }
}
