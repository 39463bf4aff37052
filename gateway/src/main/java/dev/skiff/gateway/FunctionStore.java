package dev.skiff.gateway;

import dev.skiff.invoker.FunctionConfig;
import dev.skiff.invoker.FunctionConfigParser;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.FunctionImages;
import dev.skiff.invoker.InvalidFunctionException;
import dev.skiff.invoker.Runtimes;
import dev.skiff.invoker.SkiffConfig;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Deployed functions, on disk in the data directory, so they survive restarts:
 *
 * <pre>
 *   functions/&lt;name&gt;/versions/&lt;n&gt;/func.yaml, code/…   one directory per version, never changed
 *   functions/&lt;name&gt;/versions/&lt;n&gt;/package.tar.gz     the upload, for other nodes (function catalog)
 *   functions/&lt;name&gt;/versions/&lt;n&gt;/image.id           a function from an image: the image id it was deployed with
 *   functions/&lt;name&gt;/current                           the live version number
 *   tmp/                                              uploads being unpacked and checked
 * </pre>
 *
 * A deploy unpacks and validates in tmp/, then renames the whole version directory into place
 * and replaces "current" by an atomic rename: a crash at any point leaves either the old or the
 * new version, never half of one. A rollback only rewrites "current", so it survives a restart
 * the same way. Every version is kept until the function is deleted (packages are small, and a
 * rollback target must not vanish under the operator).
 *
 * <p>A function from an OCI image is deployed as its func.yaml alone; it is stored like a package
 * that holds only func.yaml (one is made for it, so the function catalog hands other nodes the
 * same kind of archive), and its image is unpacked and checked before anything is stored.
 */
@ApplicationScoped
public class FunctionStore {
    private static final Logger LOG = Logger.getLogger(FunctionStore.class);

    /** The current version plus when it became current (deployed or rolled back to). */
    public record Stored(FunctionDeployment deployment, Instant deployedAt) {}

    /** One stored version, for listing: when it was deployed and whether it is the current one. */
    public record StoredVersion(long version, Instant deployedAt, boolean current) {}

    static final String PACKAGE_FILE = "package.tar.gz";

    @Inject
    SkiffConfig config;

    @Inject
    FunctionImages images;

    private final Map<String, Stored> current = new ConcurrentHashMap<>();

    void load(@Observes StartupEvent ignored) throws IOException {
        Files.createDirectories(functionsDir());
        Path tmp = tmpDir();
        if (Files.exists(tmp)) deleteTree(tmp); // leftovers of uploads interrupted by a crash
        Files.createDirectories(tmp);
        try (Stream<Path> dirs = Files.list(functionsDir())) {
            for (Path dir : dirs.toList()) {
                try {
                    readCurrent(dir.getFileName().toString()).ifPresent(s -> current.put(s.deployment().name(), s));
                } catch (IOException | InvalidFunctionException e) {
                    LOG.warnf("skipping stored function %s: %s", dir.getFileName(), e.getMessage());
                }
            }
        }
        LOG.infof("%d function(s) in %s", current.size(), config.dataDir());
    }

    private Path functionsDir() {
        return config.dataDir().resolve("functions");
    }

    private Path tmpDir() {
        return config.dataDir().resolve("tmp");
    }

    public Optional<Stored> get(String name) {
        return Optional.ofNullable(current.get(name));
    }

    public List<Stored> list() {
        return current.values().stream().sorted(Comparator.comparing(s -> s.deployment().name())).toList();
    }

    /** Validates and stores a package as the next version of {@code name} and makes it current. Nothing is stored if it is refused. */
    public synchronized Stored deploy(String name, InputStream gzipTar) throws IOException {
        Path fnDir = functionsDir().resolve(name);
        FunctionDeployment d = store(name, gzipTar, -1);
        writeAtomically(fnDir.resolve("current"), Long.toString(d.version()));
        Stored stored = new Stored(d, Instant.now());
        current.put(name, stored);
        return stored;
    }

    /**
     * Deploys a func.yaml alone, which must name an image: it is stored as a package holding only
     * func.yaml. A func.yaml without an image needs its code, so it is refused.
     */
    public synchronized Stored deployYaml(String name, byte[] yaml) throws IOException {
        FunctionConfig fc = parse(new String(yaml, StandardCharsets.UTF_8));
        if (!fc.fromImage()) {
            throw new ApiException(400, "package_needed", "this func.yaml names no image, so the function needs its code: deploy a package"
                    + " (the folder as a gzip'ed tar, Content-Type: application/gzip; ./fn deploy DIR does this), or add image: PATH");
        }
        String id = prepare(fc).image().id();
        return deploy(name, new java.io.ByteArrayInputStream(imagePackage(yaml, id)));
    }

    /**
     * A gzip'ed tar of func.yaml and the image id it is pinned to: what an image function is
     * stored (and published to other nodes) as.
     */
    static byte[] imagePackage(byte[] yaml, String imageId) throws IOException {
        var bytes = new java.io.ByteArrayOutputStream();
        try (var tar = new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(new java.util.zip.GZIPOutputStream(bytes))) {
            for (var file : Map.of("func.yaml", yaml, FunctionImages.ID_FILE, (imageId + "\n").getBytes(StandardCharsets.UTF_8)).entrySet()) {
                var entry = new org.apache.commons.compress.archivers.tar.TarArchiveEntry(file.getKey());
                entry.setSize(file.getValue().length);
                entry.setMode(0644);
                tar.putArchiveEntry(entry);
                tar.write(file.getValue());
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    /**
     * Stores a package as version {@code version} of {@code name} without making it current
     * (a copy of a version another gateway deployed, from the function catalog). A version that
     * is already here is left as it is.
     */
    public synchronized FunctionDeployment storeVersion(String name, long version, InputStream gzipTar) throws IOException {
        Optional<FunctionDeployment> here = version(name, version);
        if (here.isPresent()) return here.get();
        return store(name, gzipTar, version);
    }

    /**
     * Unpacks and checks a package in tmp/, then renames the version directory into place. The
     * archive is kept beside it (package.tar.gz) for the function catalog to hand to other nodes.
     */
    private FunctionDeployment store(String name, InputStream gzipTar, long wantedVersion) throws IOException {
        String problem = FunctionConfigParser.nameProblem(name);
        if (problem != null) throw new ApiException(400, "invalid_name", problem);
        Path staging = tmpDir().resolve(UUID.randomUUID().toString());
        Path code = staging.resolve("code");
        try {
            Files.createDirectories(code);
            try (var archive = Files.newOutputStream(staging.resolve(PACKAGE_FILE));
                    var tee = new CopyingInputStream(gzipTar, archive)) {
                new PackageExtractor(new PackageExtractor.Limits(config.maxPackageExpandedBytes(), config.maxPackageEntries()))
                        .extract(tee, code);
            }
            Path yaml = code.resolve("func.yaml");
            if (!Files.isRegularFile(yaml, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new ApiException(400, "missing_func_yaml", "the package has no func.yaml at its top level (create one with ./fn init)");
            }
            FunctionConfig fc = parse(Files.readString(yaml, StandardCharsets.UTF_8));
            if (!fc.name().equals(name)) {
                throw new ApiException(400, "name_mismatch", "func.yaml names the function '" + fc.name() + "' but it is being deployed as '" + name + "'");
            }
            if (fc.fromImage()) {
                prepareImage(fc, code, staging);
            } else if (!Runtimes.isKnown(fc.runtime())) {
                throw new ApiException(400, "unknown_runtime", "runtime '" + fc.runtime() + "' is not known; known runtimes: "
                        + String.join(", ", Runtimes.known()) + " (or image: PATH for a function from an OCI image)");
            }
            Files.copy(yaml, staging.resolve("func.yaml"));
            Path versions = functionsDir().resolve(name).resolve("versions");
            Files.createDirectories(versions);
            long version = wantedVersion > 0 ? wantedVersion : nextVersion(versions);
            Path finalDir = versions.resolve(Long.toString(version));
            Files.move(staging, finalDir, StandardCopyOption.ATOMIC_MOVE);
            return new FunctionDeployment(fc, version, finalDir.resolve("code"));
        } finally {
            if (Files.exists(staging)) deleteTree(staging);
        }
    }

    /**
     * An image function's package holds func.yaml and nothing else (its code is the image). The
     * image is unpacked and checked now, so a bad one is a 400 with nothing stored, and the
     * version is pinned to the image's id.
     */
    private void prepareImage(FunctionConfig fc, Path code, Path staging) throws IOException {
        try (Stream<Path> files = Files.list(code)) {
            List<String> others = files.map(p -> p.getFileName().toString())
                    .filter(n -> !n.equals("func.yaml") && !n.equals(FunctionImages.ID_FILE)).sorted().toList();
            if (!others.isEmpty()) {
                throw new ApiException(400, "image_with_code", "func.yaml names an image, so the function's code is the image: deploy"
                        + " the func.yaml alone (Content-Type: application/yaml; ./fn deploy does this), not with " + String.join(", ", others));
            }
        }
        String id = prepare(fc).image().id();
        String pinned = Files.isRegularFile(code.resolve(FunctionImages.ID_FILE), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                ? FunctionImages.readPin(code) : null;
        if (pinned != null && !pinned.equals(id)) {
            // a catalog copy on a node whose image at that path is not the one deployed on the gateway
            throw new ApiException(400, "image_mismatch", "image " + fc.image() + " on this host is " + id + ", but the function was"
                    + " deployed with " + pinned + ": put the same image at that path");
        }
        Files.writeString(staging.resolve(FunctionImages.ID_FILE), id + "\n");
    }

    private FunctionImages.Launch prepare(FunctionConfig fc) {
        try {
            return images.prepare(fc);
        } catch (InvalidFunctionException e) {
            throw new ApiException(400, e.error(), e.getMessage());
        }
    }

    /** A stored version of a function, current or not (calls routed here name the version). */
    public Optional<FunctionDeployment> version(String name, long version) {
        Stored live = current.get(name);
        if (live != null && live.deployment().version() == version) return Optional.of(live.deployment());
        if (FunctionConfigParser.nameProblem(name) != null) return Optional.empty();
        Path dir = functionsDir().resolve(name).resolve("versions").resolve(Long.toString(version));
        try {
            if (!Files.isRegularFile(dir.resolve("func.yaml"))) return Optional.empty();
            FunctionConfig fc = FunctionConfigParser.parse(Files.readString(dir.resolve("func.yaml"), StandardCharsets.UTF_8));
            return Optional.of(new FunctionDeployment(fc, version, dir.resolve("code")));
        } catch (IOException | InvalidFunctionException e) {
            return Optional.empty();
        }
    }

    /** The package a version was deployed from, as uploaded (for the function catalog). */
    public Path packageOf(String name, long version) {
        return functionsDir().resolve(name).resolve("versions").resolve(Long.toString(version)).resolve(PACKAGE_FILE);
    }

    /** Work on the store that no deploy, rollback or delete may interleave with. */
    public interface Locked<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code work} holding the store's lock (the one deploy, storeVersion and the others
     * take). Callers outside need this: the store they hold is a CDI proxy, and
     * synchronized (store) would lock the proxy, not the store.
     */
    public synchronized <T> T locked(Locked<T> work) throws IOException {
        return work.run();
    }

    /** The SHA-256 (hex) of the package a version was deployed from: what tells two uploads that were given the same number apart. */
    public String packageSha256(String name, long version) throws IOException {
        try (InputStream in = Files.newInputStream(packageOf(name, version))) {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
            return java.util.HexFormat.of().formatHex(sha.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Moves a version to the next free number; "current" follows it if it pointed there. The
     * function catalog does this to a version of this node's when another gateway's version with
     * the same number reached the shared log first. Returns the new number.
     */
    public synchronized long renumber(String name, long version) throws IOException {
        Path versions = functionsDir().resolve(name).resolve("versions");
        Path from = versions.resolve(Long.toString(version));
        if (!Files.isDirectory(from)) throw new java.nio.file.NoSuchFileException(from.toString());
        long to = nextVersion(versions);
        Path toDir = versions.resolve(Long.toString(to));
        Files.move(from, toDir, StandardCopyOption.ATOMIC_MOVE);
        Stored live = current.get(name);
        if (live != null && live.deployment().version() == version) {
            writeAtomically(functionsDir().resolve(name).resolve("current"), Long.toString(to));
            current.put(name, new Stored(new FunctionDeployment(live.deployment().config(), to, toDir.resolve("code")), live.deployedAt()));
        }
        return to;
    }

    /** A small file of the catalog's beside a version (where its package went on Kafka). */
    public Path versionFile(String name, long version, String file) {
        return functionsDir().resolve(name).resolve("versions").resolve(Long.toString(version)).resolve(file);
    }

    /** Every stored version of a function, oldest first; empty when there is no such function. */
    public List<StoredVersion> versions(String name) throws IOException {
        Stored live = current.get(name);
        if (live == null) return List.of();
        Path versions = functionsDir().resolve(name).resolve("versions");
        try (Stream<Path> s = Files.list(versions)) {
            return s.filter(p -> p.getFileName().toString().matches("\\d+"))
                    .map(p -> new StoredVersion(Long.parseLong(p.getFileName().toString()), modified(p),
                            Long.parseLong(p.getFileName().toString()) == live.deployment().version()))
                    .sorted(Comparator.comparingLong(StoredVersion::version))
                    .toList();
        }
    }

    /**
     * Makes an earlier (or any stored) version current again by rewriting the "current" pointer
     * atomically; the version's directory is used as it is, never copied.
     */
    public synchronized Stored rollback(String name, long version) throws IOException {
        if (!current.containsKey(name)) throw ManagementResource.notFound(name);
        return makeCurrent(name, version, Instant.now());
    }

    /** Points "current" at a stored version, whether or not the function had a current one. */
    public synchronized Stored makeCurrent(String name, long version, Instant since) throws IOException {
        Path dir = functionsDir().resolve(name).resolve("versions").resolve(Long.toString(version));
        if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new ApiException(404, "version_not_found", "function '" + name + "' has no version " + version
                    + " (see GET /v1/functions/" + name + "/versions or ./fn versions " + name + ")");
        }
        FunctionConfig fc;
        try {
            fc = FunctionConfigParser.parse(Files.readString(dir.resolve("func.yaml"), StandardCharsets.UTF_8));
        } catch (InvalidFunctionException e) {
            // Only possible if a later Skiff tightened func.yaml checks: say so rather than run it.
            throw new ApiException(409, "version_unusable", "version " + version + " of '" + name + "' no longer passes the func.yaml checks: " + e.getMessage());
        }
        writeAtomically(functionsDir().resolve(name).resolve("current"), Long.toString(version));
        Stored stored = new Stored(new FunctionDeployment(fc, version, dir.resolve("code")), since);
        current.put(name, stored);
        return stored;
    }

    private static Instant modified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toInstant();
        } catch (IOException e) {
            return Instant.EPOCH;
        }
    }

    /** Removes a function and all its versions. The directory is renamed away first, so removal is atomic. */
    public synchronized boolean delete(String name) throws IOException {
        if (current.remove(name) == null) return false;
        Path fnDir = functionsDir().resolve(name);
        Path trash = tmpDir().resolve("deleted-" + name + "-" + UUID.randomUUID());
        Files.move(fnDir, trash, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(trash);
        return true;
    }

    private static FunctionConfig parse(String yaml) {
        try {
            return FunctionConfigParser.parse(yaml);
        } catch (InvalidFunctionException e) {
            throw new ApiException(400, e.error(), e.getMessage());
        }
    }

    private Optional<Stored> readCurrent(String name) throws IOException, InvalidFunctionException {
        Path fnDir = functionsDir().resolve(name);
        Path pointer = fnDir.resolve("current");
        if (!Files.exists(pointer)) return Optional.empty();
        long version = Long.parseLong(Files.readString(pointer).trim());
        Path dir = fnDir.resolve("versions").resolve(Long.toString(version));
        FunctionConfig fc = FunctionConfigParser.parse(Files.readString(dir.resolve("func.yaml"), StandardCharsets.UTF_8));
        Instant at = Files.getLastModifiedTime(pointer).toInstant();
        return Optional.of(new Stored(new FunctionDeployment(fc, version, dir.resolve("code")), at));
    }

    private static long nextVersion(Path versions) throws IOException {
        try (Stream<Path> s = Files.list(versions)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\d+")).mapToLong(Long::parseLong).max().orElse(0) + 1;
        }
    }

    private static void writeAtomically(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content);
        try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** Writes what is read through it to {@code copy} as well (keeps the upload while it is unpacked). */
    private static final class CopyingInputStream extends java.io.FilterInputStream {
        private final java.io.OutputStream copy;

        CopyingInputStream(InputStream in, java.io.OutputStream copy) {
            super(in);
            this.copy = copy;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) copy.write(b);
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) copy.write(b, off, n);
            return n;
        }

        /** The extractor closes it after the tar's end: read what is left (the gzip trailer) so the copy is whole. */
        @Override
        public void close() throws IOException {
            if (closed) return;
            closed = true;
            try {
                readAndCount(Long.MAX_VALUE);
            } finally {
                super.close();
            }
        }

        private boolean closed;

        @Override
        public long skip(long n) throws IOException {
            return readAndCount(n); // skipped bytes are part of the copy too
        }

        private long readAndCount(long n) throws IOException {
            byte[] buf = new byte[8192];
            long done = 0;
            while (done < n) {
                int r = read(buf, 0, (int) Math.min(buf.length, n - done));
                if (r < 0) break;
                done += r;
            }
            return done;
        }
    }
}
