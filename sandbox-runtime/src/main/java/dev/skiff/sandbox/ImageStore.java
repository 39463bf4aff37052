package dev.skiff.sandbox;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A content-addressed cache of unpacked images: each image is unpacked once, into
 * {@code <cacheDir>/sha256/<image id>/rootfs}, and then shared read-only by every sandbox made
 * from it (see {@link RootfsEntry.ImageRoot}).
 *
 * <p>An image is unpacked into {@code <cacheDir>/tmp/} and renamed into place in one step, so
 * {@code sha256/<id>} either does not exist or is complete: a crash leaves at most a temporary
 * directory, removed by the next unpack of that image. Unpacks of the same image are serialized
 * by a lock (in this JVM and, through a lock file, between processes); the second one finds the
 * finished directory and reuses it.
 *
 * <p>The result always has real /proc, /dev, /tmp, /etc and /run directories (the sandbox mounts
 * its own /proc, /dev and usually /tmp there; a function replica a tmpfs on /run). The cache is root's alone (0700), and each finished
 * image directory is made read-only (0555).
 */
public final class ImageStore {
    /** /run too: a function replica mounts a tmpfs there and its socket directory at /run/fn. */
    private static final List<String> REQUIRED_DIRS = List.of("proc", "dev", "tmp", "etc", "run");

    private final Path cacheDir;
    private final Path images;
    private final Path tmp;
    private final Path locks;
    private final boolean chown;
    private final ConcurrentHashMap<String, ReentrantLock> inJvm = new ConcurrentHashMap<>();
    private final AtomicInteger unpacked = new AtomicInteger();

    public ImageStore(Path cacheDir) throws IOException {
        this.cacheDir = cacheDir.toAbsolutePath().normalize();
        this.images = this.cacheDir.resolve("sha256");
        this.tmp = this.cacheDir.resolve("tmp");
        this.locks = this.cacheDir.resolve("locks");
        for (Path d : List.of(this.cacheDir, images, tmp, locks)) {
            Files.createDirectories(d);
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
        }
        this.chown = NativeSyscalls.isRoot();
    }

    public Path cacheDir() {
        return cacheDir;
    }

    /** Opens the image at {@code image} (directory or tar) and unpacks it, or finds it unpacked already. */
    public UnpackedImage unpack(Path image) throws IOException {
        try (OciImage img = OciImage.open(image)) {
            return unpack(img);
        }
    }

    public UnpackedImage unpack(OciImage image) throws IOException {
        String hex = Digest.parse(image.id(), "the image").hex();
        Path entry = images.resolve(hex);
        UnpackedImage result = new UnpackedImage(image.id(), entry.resolve("rootfs"), image.config());
        if (isDirectory(result.rootfs())) return result;

        ReentrantLock lock = inJvm.computeIfAbsent(hex, k -> new ReentrantLock());
        lock.lock();
        try (FileChannel channel = FileChannel.open(locks.resolve(hex + ".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock ignored = channel.lock()) {
            if (isDirectory(result.rootfs())) return result; // finished while we waited
            removeLeftovers(hex);
            Path work = tmp.resolve(hex + "." + UUID.randomUUID());
            Files.createDirectory(work);
            try {
                unpackInto(image, Files.createDirectory(work.resolve("rootfs")));
                Files.move(work, entry, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException | Error e) {
                LayerUnpacker.deleteTree(work);
                // someone who does not take our lock finished first: theirs is as good as ours
                if (e instanceof IOException && isDirectory(result.rootfs())) return result;
                throw e;
            }
            chmod(entry, 0555);
            unpacked.incrementAndGet();
            return result;
        } finally {
            lock.unlock();
        }
    }

    /** How many images this store has unpacked (not found already unpacked). */
    int unpackCount() {
        return unpacked.get();
    }

    private void unpackInto(OciImage image, Path rootfs) throws IOException {
        LayerUnpacker unpacker = new LayerUnpacker(rootfs, chown);
        List<OciImage.Layer> layers = image.layers();
        for (int i = 0; i < layers.size(); i++) {
            String what = "image " + image.source() + ": layer " + (i + 1) + " of " + layers.size();
            try (InputStream in = image.openLayer(i)) {
                unpacker.apply(in, what);
            }
        }
        for (String d : REQUIRED_DIRS) unpacker.ensureDirectory(d, d.equals("tmp") ? 01777 : d.equals("proc") ? 0555 : 0755);
        unpacker.finish();
    }

    /** Temporary directories of this image left by a crashed unpack (we hold its lock, so no one is using them). */
    private void removeLeftovers(String hex) throws IOException {
        try (var list = Files.list(tmp)) {
            for (Path p : list.toList()) {
                if (p.getFileName().toString().startsWith(hex + ".")) LayerUnpacker.deleteTree(p);
            }
        }
    }

    private static boolean isDirectory(Path p) {
        return Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
    }

    private static void chmod(Path p, int mode) throws IOException {
        try {
            LibC.chmod(p.toString(), mode);
        } catch (LastErrorException e) {
            throw new IOException("chmod " + p + ": " + LibC.strerror(e.getErrorCode()));
        }
    }
}
