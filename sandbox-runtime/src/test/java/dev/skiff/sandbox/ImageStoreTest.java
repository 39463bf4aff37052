package dev.skiff.sandbox;

import static dev.skiff.sandbox.TestImages.hex;
import static dev.skiff.sandbox.TestImages.layer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.sandbox.TestImages.LayerBlob;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The content-addressed cache: unpacked once, atomically, with the directories a sandbox needs. No root needed. */
class ImageStoreTest {
    @TempDir
    Path tmp;

    private static List<LayerBlob> layers() {
        return List.of(new LayerBlob(layer().dir("etc").file("etc/motd", "m").file("etc/hostname", "h").dir("tmp", 0700).tar(), true),
                new LayerBlob(layer().whiteout("etc/motd").symlink("dev", "/somewhere").tar(), false));
    }

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    private static List<String> list(Path dir) throws IOException {
        try (var l = Files.list(dir)) {
            return l.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void unpacksIntoTheCacheUnderTheManifestDigest() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), layers(), "{\"Env\":[\"X=1\"]}");
        ImageStore store = new ImageStore(tmp.resolve("cache"));
        UnpackedImage u = store.unpack(w.path());
        assertEquals(w.manifestDigest(), u.id());
        assertEquals(tmp.resolve("cache/sha256").resolve(hex(w.manifestDigest())).resolve("rootfs"), u.rootfs());
        assertEquals(List.of("dev", "etc", "proc", "run", "tmp"), list(u.rootfs()));
        assertEquals(List.of("hostname"), list(u.rootfs().resolve("etc")));
        assertEquals(List.of("X=1"), u.config().env());
        assertEquals(new RootfsEntry.ImageRoot(u.rootfs()), u.rootEntry());
    }

    @Test
    void theDirectoriesASandboxNeedsAreRealDirectories() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), layers(), "{}");
        UnpackedImage u = new ImageStore(tmp.resolve("cache")).unpack(w.path());
        for (String d : List.of("proc", "dev", "tmp", "etc")) {
            assertTrue(Files.isDirectory(u.rootfs().resolve(d), LinkOption.NOFOLLOW_LINKS), d);
        }
        assertFalse(Files.isSymbolicLink(u.rootfs().resolve("dev")), "the image's /dev symlink was replaced by a directory");
        assertEquals(0700, mode(u.rootfs().resolve("tmp")), "an image's own /tmp keeps its mode");
        assertEquals(0555, mode(u.rootfs().resolve("proc")));
    }

    @Test
    void aMissingTmpIsCreatedStickyAndWorldWritable() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), List.of(new LayerBlob(layer().file("x", "x").tar(), false)), "{}");
        UnpackedImage u = new ImageStore(tmp.resolve("cache")).unpack(w.path());
        assertEquals(01777, mode(u.rootfs().resolve("tmp")));
    }

    @Test
    void aSecondUnpackReusesTheDirectory() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), layers(), "{}");
        ImageStore store = new ImageStore(tmp.resolve("cache"));
        UnpackedImage first = store.unpack(w.path());
        Object inode = Files.getAttribute(first.rootfs(), "unix:ino");
        UnpackedImage second = store.unpack(w.path());
        assertEquals(first, second);
        assertEquals(inode, Files.getAttribute(second.rootfs(), "unix:ino"));
        assertEquals(1, store.unpackCount());
        // another store (another process, say) over the same cache reuses it too
        ImageStore other = new ImageStore(tmp.resolve("cache"));
        assertEquals(first.rootfs(), other.unpack(w.path()).rootfs());
        assertEquals(0, other.unpackCount());
    }

    @Test
    void theSameImageAsAnOciTarSharesTheCacheEntry() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), layers(), "{}");
        Path tar = TestImages.tarOf(w.path(), tmp.resolve("img.tar"));
        ImageStore store = new ImageStore(tmp.resolve("cache"));
        assertEquals(store.unpack(w.path()).rootfs(), store.unpack(tar).rootfs());
        assertEquals(1, store.unpackCount());
    }

    @Test
    void concurrentUnpacksOfOneImageUnpackItOnce() throws Exception {
        var w = TestImages.ociLayout(tmp.resolve("img"), layers(), "{}");
        ImageStore store = new ImageStore(tmp.resolve("cache"));
        int n = 6;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<UnpackedImage>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    return store.unpack(w.path());
                }));
            }
            go.countDown();
            Path rootfs = results.get(0).get().rootfs();
            for (Future<UnpackedImage> f : results) assertEquals(rootfs, f.get().rootfs());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, store.unpackCount());
        assertEquals(List.of(), list(tmp.resolve("cache/tmp")), "no temporary directory is left");
    }

    @Test
    void aFailedUnpackLeavesNoEntryAndNoTemporaryDirectory() throws IOException {
        List<LayerBlob> bad = List.of(new LayerBlob(layer().file("ok", "ok").tar(), true),
                new LayerBlob(layer().file("../escape", "x").tar(), false));
        var w = TestImages.ociLayout(tmp.resolve("img"), bad, "{}");
        ImageStore store = new ImageStore(tmp.resolve("cache"));
        ImageException e = assertThrows(ImageException.class, () -> store.unpack(w.path()));
        assertTrue(e.getMessage().contains("layer 2 of 2") && e.getMessage().contains("../escape"), e.getMessage());
        assertEquals(List.of(), list(tmp.resolve("cache/sha256")));
        assertEquals(List.of(), list(tmp.resolve("cache/tmp")));
        assertFalse(Files.exists(tmp.resolve("escape")));
        assertEquals(0, store.unpackCount());
    }

    @Test
    void aCorruptLayerLeavesNoEntry() throws IOException {
        List<LayerBlob> layers = layers();
        var w = TestImages.ociLayout(tmp.resolve("img"), layers, "{}");
        Path blob = w.path().resolve("blobs/sha256/" + hex(TestImages.sha256(layers.get(1).blob())));
        byte[] b = Files.readAllBytes(blob);
        b[b.length - 1] ^= 1; // in the tar's end padding: the tar still parses, only the digest catches it
        Files.write(blob, b);
        ImageStore store = new ImageStore(tmp.resolve("cache"));
        ImageException e = assertThrows(ImageException.class, () -> store.unpack(w.path()));
        assertTrue(e.getMessage().contains("does not match its digest"), e.getMessage());
        assertEquals(List.of(), list(tmp.resolve("cache/sha256")));
    }

    @Test
    void leftoversOfACrashedUnpackAreRemovedByTheNextUnpack() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), layers(), "{}");
        ImageStore store = new ImageStore(tmp.resolve("cache"));
        Path leftover = Files.createDirectories(tmp.resolve("cache/tmp").resolve(hex(w.manifestDigest()) + ".crashed/rootfs/etc"));
        store.unpack(w.path());
        assertFalse(Files.exists(leftover));
        assertEquals(List.of(), list(tmp.resolve("cache/tmp")));
    }

    @Test
    void theCacheIsPrivateAndAFinishedImageDirectoryReadOnly() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), layers(), "{}");
        ImageStore store = new ImageStore(tmp.resolve("cache"));
        UnpackedImage u = store.unpack(w.path());
        assertEquals(0700, mode(tmp.resolve("cache")));
        assertEquals(0700, mode(tmp.resolve("cache/sha256")));
        assertEquals(0555, mode(u.rootfs().getParent()));
    }
}
