package dev.skiff.sandbox;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Builds layer tars and whole images (OCI layout directory, OCI layout tar, {@code docker save}
 * tar) for tests, computing every digest the way a registry tool would.
 */
final class TestImages {
    private TestImages() {}

    /** A layer under construction: entries in the order given. */
    static final class Layer {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);

        Layer() {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        }

        private Layer put(TarArchiveEntry e, byte[] content) {
            try {
                e.setModTime(1_700_000_000_000L);
                if (content != null) e.setSize(content.length);
                tar.putArchiveEntry(e);
                if (content != null) tar.write(content);
                tar.closeArchiveEntry();
                return this;
            } catch (IOException x) {
                throw new UncheckedIOException(x);
            }
        }

        Layer dir(String name, int mode) {
            TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", true);
            e.setMode(TarArchiveEntry.DEFAULT_DIR_MODE & ~0777 | mode);
            return put(e, null);
        }

        Layer dir(String name) {
            return dir(name, 0755);
        }

        Layer file(String name, byte[] content, int mode) {
            TarArchiveEntry e = new TarArchiveEntry(name, true);
            e.setMode(TarArchiveEntry.DEFAULT_FILE_MODE & ~0777 | mode);
            return put(e, content);
        }

        Layer file(String name, String content) {
            return file(name, content.getBytes(StandardCharsets.UTF_8), 0644);
        }

        /** A file with exactly this mode word (e.g. 0104755 for setuid). */
        Layer rawModeFile(String name, String content, int fullMode) {
            TarArchiveEntry e = new TarArchiveEntry(name, true);
            e.setMode(fullMode);
            return put(e, content.getBytes(StandardCharsets.UTF_8));
        }

        Layer symlink(String name, String target) {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
            e.setLinkName(target);
            return put(e, null);
        }

        Layer hardlink(String name, String target) {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
            e.setLinkName(target);
            return put(e, null);
        }

        Layer charDevice(String name, int major, int minor) {
            TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_CHR, true);
            e.setDevMajor(major);
            e.setDevMinor(minor);
            return put(e, null);
        }

        Layer fifo(String name) {
            return put(new TarArchiveEntry(name, TarConstants.LF_FIFO, true), null);
        }

        /** {@code .wh.NAME} next to {@code path}: deletes {@code path} of the lower layers. */
        Layer whiteout(String path) {
            int slash = path.lastIndexOf('/');
            return file(path.substring(0, slash + 1) + ".wh." + path.substring(slash + 1), new byte[0], 0644);
        }

        /** {@code DIR/.wh..wh..opq}: hides everything the lower layers had in {@code dir}. */
        Layer opaque(String dir) {
            return file((dir.isEmpty() ? "" : dir + "/") + ".wh..wh..opq", new byte[0], 0644);
        }

        byte[] tar() {
            try {
                tar.finish();
                tar.close();
            } catch (IOException x) {
                throw new UncheckedIOException(x);
            }
            return bytes.toByteArray();
        }
    }

    static Layer layer() {
        return new Layer();
    }

    static byte[] gzip(byte[] plain) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
                gz.write(plain);
            }
            return out.toByteArray();
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
    }

    static String sha256(byte[] content) {
        return Digest.of(content).toString();
    }

    static String hex(String digest) {
        return digest.substring("sha256:".length());
    }

    /** One layer as it goes into an image: its uncompressed tar, and whether the blob is gzipped. */
    record LayerBlob(byte[] tar, boolean gzipped) {
        byte[] blob() {
            return gzipped ? gzip(tar) : tar;
        }

        String mediaType() {
            return gzipped ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar";
        }
    }

    /** An image written out: where, and its manifest and config digests. */
    record Written(Path path, String manifestDigest, String configDigest) {}

    static String configJson(List<LayerBlob> layers, String runConfig) {
        List<String> diffIds = new ArrayList<>();
        for (LayerBlob l : layers) diffIds.add("\"" + sha256(l.tar()) + "\"");
        return "{\"architecture\":\"" + OciImage.hostArchitecture() + "\",\"os\":\"linux\",\"config\":" + runConfig
                + ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + String.join(",", diffIds) + "]}}";
    }

    static String descriptor(String mediaType, byte[] blob) {
        return "{\"mediaType\":\"" + mediaType + "\",\"digest\":\"" + sha256(blob) + "\",\"size\":" + blob.length + "}";
    }

    /** Writes an OCI image layout directory; {@code tweak} may change blobs before they are written. */
    static Written ociLayout(Path dir, List<LayerBlob> layers, String runConfig) throws IOException {
        Files.createDirectories(dir.resolve("blobs/sha256"));
        byte[] config = configJson(layers, runConfig).getBytes(StandardCharsets.UTF_8);
        List<String> layerDescs = new ArrayList<>();
        for (LayerBlob l : layers) {
            byte[] blob = l.blob();
            writeBlob(dir, blob);
            layerDescs.add(descriptor(l.mediaType(), blob));
        }
        writeBlob(dir, config);
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"" + OciImage.OCI_MANIFEST + "\",\"config\":"
                + descriptor("application/vnd.oci.image.config.v1+json", config) + ",\"layers\":[" + String.join(",", layerDescs) + "]}")
                .getBytes(StandardCharsets.UTF_8);
        writeBlob(dir, manifest);
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"mediaType\":\"" + OciImage.OCI_INDEX
                + "\",\"manifests\":[" + descriptor(OciImage.OCI_MANIFEST, manifest).replace("}",
                        ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}") + "]}");
        return new Written(dir, sha256(manifest), sha256(config));
    }

    static Path writeBlob(Path layout, byte[] blob) throws IOException {
        return Files.write(layout.resolve("blobs/sha256").resolve(hex(sha256(blob))), blob);
    }

    /** Packs a directory as a tar the way {@code tar -C dir -cf out .} does (names start with ./). */
    static Path tarOf(Path dir, Path out) throws IOException {
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(out));
                var walk = Files.walk(dir)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Path p : walk.sorted().toList()) {
                String name = "./" + dir.relativize(p).toString().replace('\\', '/');
                TarArchiveEntry e = new TarArchiveEntry(p.toFile(), Files.isDirectory(p) ? name + "/" : name);
                tar.putArchiveEntry(e);
                if (Files.isRegularFile(p)) Files.copy(p, tar);
                tar.closeArchiveEntry();
            }
        }
        return out;
    }

    /**
     * Writes a {@code docker save} archive of the classic kind: {@code <id>/layer.tar} per layer
     * (plain tar), {@code <config hex>.json}, manifest.json, repositories.
     */
    static Written dockerSave(Path out, List<LayerBlob> layers, String runConfig) throws IOException {
        byte[] config = configJson(layers, runConfig).getBytes(StandardCharsets.UTF_8);
        String configName = hex(sha256(config)) + ".json";
        List<String> layerPaths = new ArrayList<>();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(out))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            Consumer<Object[]> add = nameAndBytes -> {
                try {
                    byte[] b = (byte[]) nameAndBytes[1];
                    TarArchiveEntry e = new TarArchiveEntry((String) nameAndBytes[0]);
                    e.setSize(b.length);
                    tar.putArchiveEntry(e);
                    tar.write(b);
                    tar.closeArchiveEntry();
                } catch (IOException x) {
                    throw new UncheckedIOException(x);
                }
            };
            int i = 0;
            for (LayerBlob l : layers) {
                // a v1 layer id, unrelated to any digest of the content, as Docker makes them
                String id = hex(sha256(("layer" + i++ + sha256(l.tar())).getBytes(StandardCharsets.UTF_8)));
                TarArchiveEntry d = new TarArchiveEntry(id + "/");
                tar.putArchiveEntry(d);
                tar.closeArchiveEntry();
                add.accept(new Object[] {id + "/VERSION", "1.0".getBytes(StandardCharsets.UTF_8)});
                add.accept(new Object[] {id + "/layer.tar", l.tar()});
                layerPaths.add("\"" + id + "/layer.tar\"");
            }
            add.accept(new Object[] {configName, config});
            add.accept(new Object[] {"manifest.json", ("[{\"Config\":\"" + configName + "\",\"RepoTags\":[\"busybox:test\"],\"Layers\":["
                    + String.join(",", layerPaths) + "]}]").getBytes(StandardCharsets.UTF_8)});
            add.accept(new Object[] {"repositories", "{}".getBytes(StandardCharsets.UTF_8)});
        }
        return new Written(out, null, sha256(config));
    }

    // --- the busybox image ----------------------------------------------------------------------

    static final Path BUSYBOX = Path.of("/bin/busybox");
    static final String RUN_CONFIG = "{\"Env\":[\"PATH=/bin\",\"GREETING=hello from the image\"],"
            + "\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo $GREETING\"],\"WorkingDir\":\"/data\",\"User\":\"65534:65534\"}";

    /** Skips without busybox-static, or fails under CI=true (scripts/setup installs it). */
    static void requireBusybox() throws IOException {
        String problem = !Files.isRegularFile(BUSYBOX) ? BUSYBOX + " is missing"
                : !isStatic(BUSYBOX) ? BUSYBOX + " is dynamically linked (the busybox package, not busybox-static)" : null;
        if (problem == null) return;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true and " + problem + ": scripts/setup installs busybox-static");
        assumeTrue(false, problem + " (apt-get install busybox-static)");
    }

    /** An ELF64 executable without a PT_INTERP program header needs no loader, so no libc in the image. */
    private static boolean isStatic(Path elf) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(Files.readAllBytes(elf)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != 0x464c457f || b.get(4) != 2) return false; // "\x7fELF", 64-bit
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36));
        int phnum = Short.toUnsignedInt(b.getShort(0x38));
        for (int i = 0; i < phnum; i++) {
            if (b.getInt((int) (phoff + (long) i * phentsize)) == 3) return false; // PT_INTERP
        }
        return true;
    }

    /**
     * Layer 1 (gzipped): /bin/busybox, applet symlinks, /etc/passwd, /etc/motd, /data/{a,b}.
     * Layer 2 (plain): whiteout of /etc/motd, opaque /data with one new file /data/new.
     */
    static List<LayerBlob> busyboxLayers() throws IOException {
        Layer one = layer().dir("bin").file("bin/busybox", Files.readAllBytes(BUSYBOX), 0755);
        for (String applet : List.of("sh", "echo", "cat", "ls", "sleep", "stat", "id", "touch")) one.symlink("bin/" + applet, "busybox");
        one.dir("etc")
                .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n")
                .file("etc/motd", "welcome from layer one\n")
                .dir("data").file("data/a", "a\n").file("data/b", "b\n");
        Layer two = layer().dir("etc").whiteout("etc/motd").dir("data").opaque("data").file("data/new", "new in layer two\n");
        return List.of(new LayerBlob(one.tar(), true), new LayerBlob(two.tar(), false));
    }
}
