package dev.skiff.invoker;

import dev.skiff.sandbox.ImageStore;
import dev.skiff.sandbox.UnpackedImage;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The images of functions from an OCI image ({@code image:} in func.yaml): unpacked once into a
 * content-addressed cache ({@code <data dir>/images}, shared with {@code fn sandbox run}) at
 * deploy, and turned into what a replica is launched with (rootfs, argv, uid/gid).
 *
 * <p>A version is pinned to the image it was deployed with: the store keeps the image id
 * ({@link #ID_FILE}) beside the version and in the package the function catalog hands to other
 * nodes; a node whose image at that path has another id refuses the version, and a replica
 * refuses to start on a different image found at the path later (a rollback must bring back the
 * same bits).
 */
@ApplicationScoped
public class FunctionImages {
    /** Beside a stored version: the id ({@code sha256:…}) of the image it was deployed with. */
    public static final String ID_FILE = "image.id";

    /** What a replica of an image function is started with. */
    public record Launch(UnpackedImage image, List<String> command, int uid, int gid) {}

    @Inject
    SkiffConfig config;

    private ImageStore store;
    private final Map<String, Launch> byKey = new ConcurrentHashMap<>();

    private synchronized ImageStore store() throws IOException {
        if (store == null) store = new ImageStore(config.dataDir().resolve("images"));
        return store;
    }

    /**
     * At deploy: opens the image named in func.yaml, checks it (digests, platform, entries),
     * unpacks it unless the cache has it, and works out the command and user. A problem is an
     * {@link InvalidFunctionException} that names the image.
     */
    public Launch prepare(FunctionConfig fc) throws InvalidFunctionException {
        ImageReference ref = fc.image();
        if (!Files.exists(ref.path())) {
            throw new InvalidFunctionException("invalid_image", "image " + ref + ": " + ref.path() + " does not exist on this host"
                    + " (the image must be on the Skiff host's disk, at the same path on every node)");
        }
        UnpackedImage image;
        try {
            image = store().unpack(ref.path());
        } catch (NoSuchFileException e) {
            throw new InvalidFunctionException("invalid_image", "image " + ref + ": " + e.getFile() + " does not exist");
        } catch (IOException e) {
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            throw new InvalidFunctionException("invalid_image", message.contains(ref.path().toString()) ? message : "image " + ref + ": " + message);
        }
        return launch(fc, image);
    }

    /**
     * At replica start: the launch of a stored version, from memory after its first start. The
     * image must still be at its path with the id the version was deployed with.
     */
    public Launch forDeployment(FunctionDeployment d) throws InvalidFunctionException {
        Path versionDir = d.codeDir().getParent();
        String pinned = readPin(versionDir);
        // Keyed by the pin too: a function deleted and deployed again reuses version numbers (and directories).
        String key = versionDir + "@" + pinned;
        Launch cached = pinned == null ? null : byKey.get(key);
        if (cached != null) return cached;
        Launch launch = prepare(d.config());
        if (pinned != null && !pinned.equals(launch.image().id())) {
            throw new InvalidFunctionException("image_changed", "image " + d.config().image() + " is not the one version " + d.version()
                    + " of " + d.name() + " was deployed with (" + pinned + ", now " + launch.image().id() + "): deploy the function again");
        }
        if (pinned != null) byKey.put(key, launch);
        return launch;
    }

    /** The pin a stored version (or a package) carries: the id of the image it was deployed with, or null. */
    public static String readPin(Path dir) {
        try {
            String id = Files.readString(dir.resolve(ID_FILE), StandardCharsets.UTF_8).trim();
            return id.isEmpty() ? null : id;
        } catch (IOException e) {
            return null; // stored without a pin: the image as it is now
        }
    }

    private Launch launch(FunctionConfig fc, UnpackedImage image) throws InvalidFunctionException {
        List<String> command = fc.command().isEmpty() ? image.config().command() : fc.command();
        if (command.isEmpty()) {
            throw new InvalidFunctionException("invalid_image", "image " + fc.image() + " has no Entrypoint or Cmd: say what to run"
                    + " with 'command' in func.yaml (e.g. command: [/bin/server])");
        }
        try {
            command = UnpackedImage.resolve(command, image.rootfs());
        } catch (IllegalArgumentException e) {
            throw new InvalidFunctionException("invalid_image", "image " + fc.image() + ": " + e.getMessage() + "; give an absolute path");
        }
        int[] ids = user(image.config().user(), image.rootfs(), fc.image(), config.sandboxUid(), config.sandboxGid());
        return new Launch(image, command, ids[0], ids[1]);
    }

    /**
     * The image's User ({@code name}, {@code uid}, {@code name:group}, {@code uid:gid}), looked
     * up in the image's own /etc/passwd and /etc/group. No User, or root, runs as the sandbox
     * user: a function never runs as uid or gid 0.
     */
    static int[] user(String user, Path rootfs, ImageReference ref, int sandboxUid, int sandboxGid) throws InvalidFunctionException {
        if (user == null) return new int[] {sandboxUid, sandboxGid};
        int colon = user.indexOf(':');
        String u = colon < 0 ? user : user.substring(0, colon);
        String g = colon < 0 ? null : user.substring(colon + 1);
        String[] passwd = u.matches("\\d+") ? entry(rootfs, "passwd", u, 2) : entry(rootfs, "passwd", u, 0);
        long uid;
        if (u.matches("\\d+")) {
            uid = Long.parseLong(u);
        } else if (passwd != null) {
            uid = Long.parseLong(passwd[2]);
        } else {
            throw new InvalidFunctionException("invalid_image", "image " + ref + " runs as user '" + u + "', who is not in its /etc/passwd");
        }
        long gid;
        if (g == null || g.isEmpty()) {
            gid = passwd != null && passwd[3].matches("\\d+") ? Long.parseLong(passwd[3]) : sandboxGid;
        } else if (g.matches("\\d+")) {
            gid = Long.parseLong(g);
        } else {
            String[] group = entry(rootfs, "group", g, 0);
            if (group == null) throw new InvalidFunctionException("invalid_image", "image " + ref + " runs as group '" + g + "', which is not in its /etc/group");
            gid = Long.parseLong(group[2]);
        }
        if (uid == 0 || uid > Integer.MAX_VALUE) {
            uid = sandboxUid;
            gid = sandboxGid;
        }
        if (gid == 0 || gid > Integer.MAX_VALUE) gid = sandboxGid;
        return new int[] {(int) uid, (int) gid};
    }

    /** The line of the image's /etc/{passwd,group} whose field {@code field} is {@code value}, split on ':'. */
    private static String[] entry(Path rootfs, String file, String value, int field) {
        Path etc = rootfs.resolve("etc");
        Path p = etc.resolve(file);
        // the image's own file only: a symlink in an image could point anywhere on the host
        if (!Files.isDirectory(etc, LinkOption.NOFOLLOW_LINKS) || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) return null;
        try {
            for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                String[] f = line.split(":", -1);
                if (f.length > 3 && f[field].equals(value) && f[2].matches("\\d+")) return f;
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }
}
