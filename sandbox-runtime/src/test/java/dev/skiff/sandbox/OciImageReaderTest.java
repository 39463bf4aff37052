package dev.skiff.sandbox;

import static dev.skiff.sandbox.TestImages.descriptor;
import static dev.skiff.sandbox.TestImages.hex;
import static dev.skiff.sandbox.TestImages.layer;
import static dev.skiff.sandbox.TestImages.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.sandbox.TestImages.LayerBlob;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading image metadata and layers in the three formats, and refusing corrupt or unsupported images. No root needed. */
class OciImageReaderTest {
    private static final String RUN = "{\"Env\":[\"PATH=/bin\",\"A=1=2\"],\"Entrypoint\":[\"/bin/app\"],\"Cmd\":[\"--port\",\"8080\"],"
            + "\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\"}";

    @TempDir
    Path tmp;

    private static List<LayerBlob> twoLayers() {
        return List.of(new LayerBlob(layer().dir("etc").file("etc/a", "a").tar(), true),
                new LayerBlob(layer().file("etc/b", "b").tar(), false));
    }

    private static byte[] readLayer(OciImage image, int i) throws IOException {
        try (InputStream in = image.openLayer(i)) {
            return in.readAllBytes();
        }
    }

    private void assertReadsBack(OciImage image, List<LayerBlob> layers) throws IOException {
        assertEquals(layers.size(), image.layers().size());
        for (int i = 0; i < layers.size(); i++) assertArrayEquals(layers.get(i).tar(), readLayer(image, i), "layer " + i);
        ImageConfig c = image.config();
        assertEquals(List.of("PATH=/bin", "A=1=2"), c.env());
        assertEquals(Map.of("PATH", "/bin", "A", "1=2"), c.envMap());
        assertEquals(List.of("/bin/app", "--port", "8080"), c.command());
        assertEquals("/srv", c.workingDir());
        assertEquals("1000:1000", c.user());
        assertEquals("linux/" + OciImage.hostArchitecture(), image.platform());
    }

    @Test
    void readsAnOciLayoutDirectory() throws IOException {
        List<LayerBlob> layers = twoLayers();
        var w = TestImages.ociLayout(tmp.resolve("img"), layers, RUN);
        try (OciImage image = OciImage.open(w.path())) {
            assertEquals(OciImage.Format.OCI_LAYOUT, image.format());
            assertEquals(w.manifestDigest(), image.id());
            assertEquals(w.configDigest(), image.configDigest());
            assertEquals("application/vnd.oci.image.layer.v1.tar+gzip", image.layers().get(0).mediaType());
            assertReadsBack(image, layers);
        }
    }

    @Test
    void readsAnOciLayoutTar() throws IOException {
        List<LayerBlob> layers = twoLayers();
        var w = TestImages.ociLayout(tmp.resolve("img"), layers, RUN);
        Path tar = TestImages.tarOf(w.path(), tmp.resolve("img.tar"));
        try (OciImage image = OciImage.open(tar)) {
            assertEquals(w.manifestDigest(), image.id());
            assertReadsBack(image, layers);
        }
    }

    @Test
    void readsADockerSaveTar() throws IOException {
        List<LayerBlob> layers = twoLayers();
        var w = TestImages.dockerSave(tmp.resolve("docker.tar"), layers, RUN);
        try (OciImage image = OciImage.open(w.path())) {
            assertEquals(OciImage.Format.DOCKER_ARCHIVE, image.format());
            assertEquals(w.configDigest(), image.id(), "without a manifest blob, the config digest (Docker's image ID) names it");
            assertNull(image.layers().get(0).digest());
            assertEquals(sha256(layers.get(0).tar()), image.layers().get(0).diffId());
            assertReadsBack(image, layers);
        }
    }

    @Test
    void anEmptyRunConfigGivesEmptyValues() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), twoLayers(), "{}");
        try (OciImage image = OciImage.open(w.path())) {
            assertEquals(List.of(), image.config().command());
            assertEquals(Map.of(), image.config().envMap());
            assertNull(image.config().workingDir());
            assertNull(image.config().user());
        }
    }

    // --- index: platforms and nesting ------------------------------------------------------------

    private static String platformDescriptor(byte[] manifest, String os, String arch) {
        return descriptor(OciImage.OCI_MANIFEST, manifest).replace("}", ",\"platform\":{\"os\":\"" + os + "\",\"architecture\":\"" + arch + "\"}}");
    }

    @Test
    void picksThisHostsPlatformFromANestedIndex() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), twoLayers(), RUN);
        byte[] ours = Files.readAllBytes(w.path().resolve("blobs/sha256/" + hex(w.manifestDigest())));
        // a second manifest for another architecture; its blobs need not even exist
        byte[] other = ours.clone();
        other[other.length - 1] = ' ';
        byte[] nested = ("{\"schemaVersion\":2,\"mediaType\":\"" + OciImage.OCI_INDEX + "\",\"manifests\":["
                + platformDescriptor(other, "linux", "s390x") + ","
                + descriptor("application/vnd.in-toto+json", "x".getBytes()).replace("}", ",\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}") + ","
                + platformDescriptor(ours, "linux", OciImage.hostArchitecture()) + "]}").getBytes(StandardCharsets.UTF_8);
        TestImages.writeBlob(w.path(), nested);
        Files.writeString(w.path().resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[" + descriptor(OciImage.OCI_INDEX, nested) + "]}");
        try (OciImage image = OciImage.open(w.path())) {
            assertEquals(w.manifestDigest(), image.id());
        }
    }

    @Test
    void refusesAnIndexWithoutThisHostsPlatform() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), twoLayers(), RUN);
        byte[] ours = Files.readAllBytes(w.path().resolve("blobs/sha256/" + hex(w.manifestDigest())));
        Files.writeString(w.path().resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[" + platformDescriptor(ours, "linux", "riscv64")
                + "," + platformDescriptor(ours, "windows", OciImage.hostArchitecture()) + "]}");
        ImageException e = assertThrows(ImageException.class, () -> OciImage.open(w.path()));
        assertTrue(e.getMessage().contains("no image for linux/" + OciImage.hostArchitecture()) && e.getMessage().contains("linux/riscv64"),
                e.getMessage());
    }

    @Test
    void refusesAConfigForAnotherArchitecture() throws IOException {
        String foreign = OciImage.hostArchitecture().equals("arm64") ? "amd64" : "arm64";
        Path dir = tmp.resolve("img");
        var w = TestImages.ociLayout(dir, twoLayers(), RUN);
        // rebuild config + manifest with the foreign architecture
        byte[] config = TestImages.configJson(twoLayers(), RUN).replace("\"architecture\":\"" + OciImage.hostArchitecture() + "\"",
                "\"architecture\":\"" + foreign + "\"").getBytes(StandardCharsets.UTF_8);
        TestImages.writeBlob(dir, config);
        String manifest = Files.readString(dir.resolve("blobs/sha256/" + hex(w.manifestDigest())))
                .replace(w.configDigest(), sha256(config));
        byte[] m = manifest.getBytes(StandardCharsets.UTF_8);
        m = new String(m, StandardCharsets.UTF_8).replaceFirst("\"size\":\\d+", "\"size\":" + config.length).getBytes(StandardCharsets.UTF_8);
        TestImages.writeBlob(dir, m);
        Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[" + descriptor(OciImage.OCI_MANIFEST, m) + "]}");
        ImageException e = assertThrows(ImageException.class, () -> OciImage.open(dir));
        assertTrue(e.getMessage().contains("linux/" + foreign), e.getMessage());
    }

    // --- digests -------------------------------------------------------------------------------

    @Test
    void refusesAManifestThatDoesNotMatchItsDigest() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), twoLayers(), RUN);
        Path manifest = w.path().resolve("blobs/sha256/" + hex(w.manifestDigest()));
        // same size, one letter changed: only the digest can tell
        Files.writeString(manifest, Files.readString(manifest).replace("config.v1+json", "config.v1+jsoN"));
        ImageException e = assertThrows(ImageException.class, () -> OciImage.open(w.path()));
        assertTrue(e.getMessage().contains("the manifest") && e.getMessage().contains("does not match its digest")
                && e.getMessage().contains(w.manifestDigest()), e.getMessage());
    }

    @Test
    void refusesAConfigThatDoesNotMatchItsDigest() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), twoLayers(), RUN);
        Path config = w.path().resolve("blobs/sha256/" + hex(w.configDigest()));
        Files.writeString(config, Files.readString(config).replace("/srv", "/xyz"));
        ImageException e = assertThrows(ImageException.class, () -> OciImage.open(w.path()));
        assertTrue(e.getMessage().contains("the image config") && e.getMessage().contains("does not match"), e.getMessage());
    }

    @Test
    void refusesALayerThatDoesNotMatchItsDigestWhenItIsRead() throws IOException {
        List<LayerBlob> layers = twoLayers();
        var w = TestImages.ociLayout(tmp.resolve("img"), layers, RUN);
        Path blob = w.path().resolve("blobs/sha256/" + hex(sha256(layers.get(1).blob())));
        byte[] b = Files.readAllBytes(blob);
        b[600] ^= 1; // inside the content of etc/b? anywhere: the digest covers every byte
        Files.write(blob, b);
        try (OciImage image = OciImage.open(w.path())) {
            readLayer(image, 0);
            ImageException e = assertThrows(ImageException.class, () -> readLayer(image, 1));
            assertTrue(e.getMessage().contains("layer 2 of 2") && e.getMessage().contains("does not match its digest"), e.getMessage());
        }
    }

    @Test
    void refusesATruncatedLayerBlob() throws IOException {
        List<LayerBlob> layers = twoLayers();
        var w = TestImages.ociLayout(tmp.resolve("img"), layers, RUN);
        Path blob = w.path().resolve("blobs/sha256/" + hex(sha256(layers.get(0).blob())));
        byte[] b = Files.readAllBytes(blob);
        Files.write(blob, Arrays.copyOf(b, b.length - 10));
        try (OciImage image = OciImage.open(w.path())) {
            IOException e = assertThrows(IOException.class, () -> readLayer(image, 0));
            assertTrue(e.getMessage() != null && !e.getMessage().isEmpty(), String.valueOf(e));
        }
    }

    @Test
    void refusesADockerLayerThatDoesNotMatchItsDiffId() throws IOException {
        List<LayerBlob> layers = twoLayers();
        List<LayerBlob> tampered = List.of(layers.get(0), new LayerBlob(layer().file("etc/b", "evil").tar(), false));
        // config (with diff_ids) of the real layers, layer files of the tampered ones
        Path good = TestImages.dockerSave(tmp.resolve("good.tar"), layers, RUN).path();
        Path bad = TestImages.dockerSave(tmp.resolve("bad.tar"), tampered, RUN).path();
        try (OciImage image = OciImage.open(good)) {
            readLayer(image, 1);
        }
        // swap the config: put the good config into the bad archive by rebuilding with the good diff_ids
        String goodConfig = TestImages.configJson(layers, RUN);
        Path dir = Files.createDirectory(tmp.resolve("unpacked"));
        try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(Files.newInputStream(bad))) {
            org.apache.commons.compress.archivers.tar.TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                Path p = dir.resolve(e.getName());
                if (e.isDirectory()) Files.createDirectories(p);
                else Files.copy(in, p);
            }
        }
        String configName = hex(sha256(goodConfig.getBytes(StandardCharsets.UTF_8))) + ".json";
        Files.writeString(dir.resolve(configName), goodConfig);
        Files.writeString(dir.resolve("manifest.json"), Files.readString(dir.resolve("manifest.json"))
                .replaceFirst("\"Config\":\"[0-9a-f]{64}\\.json\"", "\"Config\":\"" + configName + "\""));
        try (OciImage image = OciImage.open(dir)) {
            assertEquals(OciImage.Format.DOCKER_ARCHIVE, image.format());
            readLayer(image, 0);
            ImageException e = assertThrows(ImageException.class, () -> readLayer(image, 1));
            assertTrue(e.getMessage().contains("(uncompressed)") && e.getMessage().contains("does not match"), e.getMessage());
        }
    }

    @Test
    void refusesADigestThatIsNotSha256OrThatNamesAPath() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), twoLayers(), RUN);
        for (String digest : List.of("sha512:" + "a".repeat(128), "sha256:../../../etc/passwd", "sha256:" + "A".repeat(64))) {
            Files.writeString(w.path().resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" + OciImage.OCI_MANIFEST
                    + "\",\"digest\":\"" + digest + "\",\"size\":1}]}");
            ImageException e = assertThrows(ImageException.class, () -> OciImage.open(w.path()), digest);
            assertTrue(e.getMessage().contains("only sha256"), e.getMessage());
        }
    }

    @Test
    void refusesAMissingBlob() throws IOException {
        var w = TestImages.ociLayout(tmp.resolve("img"), twoLayers(), RUN);
        Files.delete(w.path().resolve("blobs/sha256/" + hex(w.configDigest())));
        ImageException e = assertThrows(ImageException.class, () -> OciImage.open(w.path()));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void refusesZstdLayersClearly() throws IOException {
        byte[] zstdish = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 0, 0, 0, 0};
        Path dir = tmp.resolve("img");
        var w = TestImages.ociLayout(dir, twoLayers(), RUN);
        // replace layer 1 by a "zstd" blob (and its digest in the manifest; the diff_id check is never reached)
        Path manifestPath = dir.resolve("blobs/sha256/" + hex(w.manifestDigest()));
        String blob1 = sha256(twoLayers().get(0).blob());
        TestImages.writeBlob(dir, zstdish);
        String manifest = Files.readString(manifestPath).replace(blob1, sha256(zstdish))
                .replaceFirst("(\"digest\":\"" + sha256(zstdish) + "\",\"size\":)\\d+", "$1" + zstdish.length);
        byte[] m = manifest.getBytes(StandardCharsets.UTF_8);
        TestImages.writeBlob(dir, m);
        Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[" + descriptor(OciImage.OCI_MANIFEST, m) + "]}");
        try (OciImage image = OciImage.open(dir)) {
            ImageException e = assertThrows(ImageException.class, () -> image.openLayer(0));
            assertTrue(e.getMessage().contains("zstd"), e.getMessage());
        }
    }

    // --- not images --------------------------------------------------------------------------------

    @Test
    void refusesWhatIsNotAnImage() throws IOException {
        Path empty = Files.createDirectory(tmp.resolve("empty"));
        assertTrue(assertThrows(ImageException.class, () -> OciImage.open(empty)).getMessage().contains("not an image"));
        Path text = Files.writeString(tmp.resolve("notes.txt"), "hello");
        assertThrows(ImageException.class, () -> OciImage.open(text));
        Path gz = Files.write(tmp.resolve("img.tar.gz"), TestImages.gzip(layer().file("manifest.json", "[]").tar()));
        ImageException e = assertThrows(ImageException.class, () -> OciImage.open(gz));
        assertTrue(e.getMessage().contains("decompressed first"), e.getMessage());
        assertThrows(IOException.class, () -> OciImage.open(tmp.resolve("missing")));
    }

    @Test
    void refusesADockerArchiveWithSeveralImagesOrNoDiffIds() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("d"));
        Files.writeString(dir.resolve("manifest.json"), "[{\"Config\":\"c.json\",\"Layers\":[]},{\"Config\":\"c.json\",\"Layers\":[]}]");
        assertTrue(assertThrows(ImageException.class, () -> OciImage.open(dir)).getMessage().contains("2 images"));
        Files.writeString(dir.resolve("c.json"), "{\"os\":\"linux\"}");
        Files.writeString(dir.resolve("l.tar"), "x");
        Files.writeString(dir.resolve("manifest.json"), "[{\"Config\":\"c.json\",\"Layers\":[\"l.tar\"]}]");
        assertTrue(assertThrows(ImageException.class, () -> OciImage.open(dir)).getMessage().contains("diff_ids"));
    }

    @Test
    void refusesDockerArchivePathsThatLeaveTheArchive() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("d"));
        Files.writeString(dir.resolve("manifest.json"), "[{\"Config\":\"../../etc/passwd\",\"Layers\":[]}]");
        ImageException e = assertThrows(ImageException.class, () -> OciImage.open(dir));
        assertTrue(e.getMessage().contains(".."), e.getMessage());
    }
}
