package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real sandboxes (as root, in CI) whose root is a tiny OCI image built here from busybox-static:
 * layer 1 (gzipped) has busybox, /etc/motd and /data/{a,b}; layer 2 (plain) whites out
 * /etc/motd and makes /data opaque with one new file.
 */
class OciImageTest {
    private static Path work;
    private static List<TestImages.LayerBlob> layers;
    private static TestImages.Written layout;
    private static ImageStore store;

    @BeforeAll
    static void image() throws Exception {
        RequiresRoot.check();
        TestImages.requireBusybox();
        work = Files.createTempDirectory("skiff-oci-test");
        layers = TestImages.busyboxLayers();
        layout = TestImages.ociLayout(work.resolve("busybox-oci"), layers, TestImages.RUN_CONFIG);
        store = new ImageStore(work.resolve("cache"));
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (work != null) LayerUnpacker.deleteTree(work);
    }

    /** A spec with the image as root, a tmpfs /tmp, and the image's Env/WorkingDir/Entrypoint+Cmd. */
    private static SandboxSpec.Builder spec(UnpackedImage image, String id) {
        return image.spec(id).add(new RootfsEntry.Tmpfs("/tmp", 4 << 20, "1777")).hostname("img-" + id);
    }

    private static SandboxTestSupport.Result sh(UnpackedImage image, String id, String script) throws Exception {
        return SandboxTestSupport.run(spec(image, id).command("/bin/sh", "-c", script).build());
    }

    private static final String CHECKS = "cat /etc/motd 2>/dev/null && echo motd-still-there; ls /data; cat /data/new;"
            + " echo x > /x 2>/dev/null && echo root-writable; echo x > /bin/y 2>/dev/null && echo bin-writable;"
            + " echo ok > /tmp/f && cat /tmp/f; ls /dev | wc -l; id -u";

    private static void assertLayersApplied(SandboxTestSupport.Result r) {
        assertEquals(0, r.exit().code(), "stdout: " + r.stdout() + "\nstderr: " + r.stderr());
        // /data: only layer two's file; /dev: the devices + fd, stdin, stdout, stderr
        List<String> expected = List.of("new", "new in layer two", "ok", Integer.toString(RootfsBuilder.DEVICES.size() + 4), "65534");
        assertEquals(expected, r.stdout().strip().lines().map(String::strip).toList(), r.stderr());
    }

    @Test
    void runsAShellFromTheImageWithWhiteoutsAppliedAndAReadOnlyRoot() throws Exception {
        UnpackedImage image = store.unpack(layout.path());
        assertLayersApplied(sh(image, "oci-dir", CHECKS));
    }

    @Test
    void theImageConfigGivesTheCommandEnvAndWorkingDirectory() throws Exception {
        UnpackedImage image = store.unpack(layout.path());
        // Entrypoint ["/bin/sh","-c"] + Cmd ["echo $GREETING"], PATH=/bin, WorkingDir /data
        var r = SandboxTestSupport.run(spec(image, "oci-config").build());
        assertEquals(0, r.exit().code(), r.stderr());
        assertEquals("hello from the image", r.stdout().trim());
        var pwd = sh(image, "oci-cwd", "echo $PWD; ls");
        assertEquals("/data\nnew", pwd.stdout().trim(), pwd.stderr());
    }

    @Test
    void theImageIsUnpackedOnceAndSharedBySandboxes() throws Exception {
        UnpackedImage first = store.unpack(layout.path());
        Object inode = Files.getAttribute(first.rootfs(), "unix:ino");
        var mtime = Files.getLastModifiedTime(first.rootfs());
        int before = store.unpackCount();
        sh(first, "oci-once-1", "true");
        UnpackedImage second = store.unpack(layout.path());
        assertEquals(before, store.unpackCount(), "the second unpack reused the directory");
        assertEquals(first.rootfs(), second.rootfs());
        assertEquals(inode, Files.getAttribute(second.rootfs(), "unix:ino"));
        assertEquals(mtime, Files.getLastModifiedTime(second.rootfs()), "no sandbox wrote into the shared image");
        assertLayersApplied(sh(second, "oci-once-2", CHECKS));
    }

    @Test
    void twoSandboxesRunFromTheImageAtTheSameTime() throws Exception {
        UnpackedImage image = store.unpack(layout.path());
        SandboxRuntime runtime = SandboxTestSupport.runtime();
        // both sleep long enough to be seen alive together
        Sandbox a = runtime.start(spec(image, "oci-para-a").command("/bin/sh", "-c", "sleep 2; cat /data/new").build());
        try (Sandbox b = runtime.start(spec(image, "oci-para-b").command("/bin/sh", "-c", "sleep 2; cat /data/new").build())) {
            assertTrue(a.isAlive() && b.isAlive(), "both sandboxes run at once from the one unpacked image");
            CompletableFuture<String> outA = CompletableFuture.supplyAsync(() -> read(a));
            CompletableFuture<String> outB = CompletableFuture.supplyAsync(() -> read(b));
            assertEquals(0, a.onExit().get(30, TimeUnit.SECONDS).code());
            assertEquals(0, b.onExit().get(30, TimeUnit.SECONDS).code());
            assertEquals("new in layer two", outA.get(10, TimeUnit.SECONDS).trim());
            assertEquals("new in layer two", outB.get(10, TimeUnit.SECONDS).trim());
        } finally {
            a.destroy();
        }
    }

    @Test
    void theSameImageAsADockerSaveTarRuns() throws Exception {
        var docker = TestImages.dockerSave(work.resolve("busybox-docker.tar"), layers, TestImages.RUN_CONFIG);
        UnpackedImage image = store.unpack(docker.path());
        assertEquals(docker.configDigest(), image.id());
        assertLayersApplied(sh(image, "oci-docker", CHECKS));
    }

    @Test
    void theSameImageAsAnOciLayoutTarRuns() throws Exception {
        Path tar = TestImages.tarOf(layout.path(), work.resolve("busybox-oci.tar"));
        UnpackedImage image = store.unpack(tar);
        assertEquals(layout.manifestDigest(), image.id());
        assertLayersApplied(sh(image, "oci-tar", CHECKS));
    }

    @Test
    void functionCodeBoundOnTopOfTheImageIsVisible() throws Exception {
        UnpackedImage image = store.unpack(layout.path());
        Path code = Files.createTempDirectory(work, "code");
        Files.setPosixFilePermissions(code, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(code.resolve("handler"), "handled\n");
        // /data exists in the image, so it can be a mount point; the image's /data is hidden under it
        var r = SandboxTestSupport.run(spec(image, "oci-bind").add(RootfsEntry.readOnly(code, "/data"))
                .command("/bin/sh", "-c", "ls /data; cat /data/handler; echo x > /data/y 2>/dev/null && echo code-writable || echo code-read-only").build());
        assertEquals(0, r.exit().code(), r.stderr());
        assertEquals("handler\nhandled\ncode-read-only", r.stdout().trim());
    }

    @Test
    void aMountPointMissingFromTheImageFailsClearly() throws Exception {
        UnpackedImage image = store.unpack(layout.path());
        Path code = Files.createTempDirectory(work, "code");
        var e = org.junit.jupiter.api.Assertions.assertThrows(SandboxException.class,
                () -> SandboxTestSupport.run(spec(image, "oci-nomount").add(RootfsEntry.readOnly(code, "/code")).command("/bin/true").build()));
        assertTrue(e.getMessage().contains("mount point /code does not exist in the image"), e.getMessage());
    }

    private static String read(Sandbox s) {
        try {
            return new String(s.stdout().readAllBytes());
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
