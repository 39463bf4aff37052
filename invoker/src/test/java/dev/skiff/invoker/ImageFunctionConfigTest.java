package dev.skiff.invoker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** func.yaml's image and command keys, image references, and the user an image runs as. */
class ImageFunctionConfigTest {
    private static InvalidFunctionException refused(String yaml) {
        return assertThrows(InvalidFunctionException.class, () -> FunctionConfigParser.parse(yaml));
    }

    @Test
    void anImageNeedsNoRuntimeAndTakesACommand() throws Exception {
        FunctionConfig fc = FunctionConfigParser.parse("name: img\nimage: /srv/images/hello.tar\ncommand: [/bin/server, -v]\n");
        assertTrue(fc.fromImage());
        assertEquals("image", fc.runtime());
        assertEquals(Path.of("/srv/images/hello.tar"), fc.image().path());
        assertEquals(List.of("/bin/server", "-v"), fc.command());
        assertEquals("image", FunctionConfigParser.parse("name: img\nruntime: image\nimage: oci:/srv/x\n").runtime());
        assertFalse(FunctionConfigParser.parse("name: py\nruntime: python\n").fromImage());
    }

    @Test
    void theImageTemplateOfFnInitIsAValidFuncYaml() throws Exception {
        try (var in = getClass().getResourceAsStream("/skiff/templates/image/func.yaml")) {
            String yaml = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).replace("__NAME__", "boxed");
            assertEquals(Path.of("/srv/images/boxed.tar"), FunctionConfigParser.parse(yaml).image().path());
        }
    }

    @Test
    void imageAndRuntimeAndHandlerAndCommandAreCheckedTogether() {
        assertTrue(refused("name: a\nruntime: python\nimage: /x.tar\n").getMessage().contains("'runtime: python' and 'image'"));
        assertTrue(refused("name: a\nruntime: image\n").getMessage().contains("needs an 'image' key"));
        assertTrue(refused("name: a\nimage: /x.tar\nhandler: h.handle\n").getMessage().contains("'handler'"));
        assertTrue(refused("name: a\nruntime: python\ncommand: [/bin/x]\n").getMessage().contains("only for functions from an image"));
        assertTrue(refused("name: a\nimage: /x.tar\ncommand: /bin/x\n").getMessage().contains("list of strings"));
        assertTrue(refused("name: a\nimage: /x.tar\ncommand: []\n").getMessage().contains("list of strings"));
        assertTrue(refused("name: a\n").getMessage().contains("no 'runtime'"));
    }

    @Test
    void imageReferencesAreLocalPathsForNow() throws Exception {
        assertEquals(new ImageReference("path", Path.of("/srv/a.tar")), ImageReference.parse("/srv/../srv/a.tar"));
        assertEquals(new ImageReference("oci-archive", Path.of("/srv/a.tar")), ImageReference.parse("oci-archive:/srv/a.tar"));
        assertEquals("docker-archive:/srv/d.tar", ImageReference.parse("docker-archive:/srv/d.tar").toString());
        for (String registry : List.of("docker.io/library/busybox:latest", "busybox", "ghcr.io/x/y@sha256:" + "a".repeat(64), "docker://busybox")) {
            InvalidFunctionException e = assertThrows(InvalidFunctionException.class, () -> ImageReference.parse(registry));
            assertTrue(e.getMessage().contains("registry reference") && e.getMessage().contains("only local images"), e.getMessage());
        }
        for (String relative : List.of("./hello.tar", "hello.tar", "oci:images/x")) {
            InvalidFunctionException e = assertThrows(InvalidFunctionException.class, () -> ImageReference.parse(relative));
            assertTrue(e.getMessage().contains("not an absolute path"), e.getMessage());
        }
    }

    @Test
    void theImagesUserIsLookedUpInItsOwnEtcAndNeverRoot(@TempDir Path rootfs) throws Exception {
        Files.createDirectories(rootfs.resolve("etc"));
        Files.writeString(rootfs.resolve("etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n");
        Files.writeString(rootfs.resolve("etc/group"), "root:x:0:\nstaff:x:50:\n");
        ImageReference ref = ImageReference.parse("/img");
        assertArrayEquals(new int[] {65534, 65534}, FunctionImages.user(null, rootfs, ref, 65534, 65534));
        assertArrayEquals(new int[] {1000, 1001}, FunctionImages.user("app", rootfs, ref, 65534, 65534));
        assertArrayEquals(new int[] {1000, 50}, FunctionImages.user("app:staff", rootfs, ref, 65534, 65534));
        assertArrayEquals(new int[] {4242, 4343}, FunctionImages.user("4242:4343", rootfs, ref, 65534, 65534));
        assertArrayEquals(new int[] {1000, 1001}, FunctionImages.user("1000", rootfs, ref, 65534, 65534));
        assertArrayEquals(new int[] {65534, 65534}, FunctionImages.user("root", rootfs, ref, 65534, 65534));
        assertArrayEquals(new int[] {65534, 65534}, FunctionImages.user("0:0", rootfs, ref, 65534, 65534));
        assertArrayEquals(new int[] {1000, 65534}, FunctionImages.user("app:root", rootfs, ref, 65534, 65534));
        assertTrue(assertThrows(InvalidFunctionException.class, () -> FunctionImages.user("ghost", rootfs, ref, 65534, 65534))
                .getMessage().contains("'ghost'"));
    }
}
