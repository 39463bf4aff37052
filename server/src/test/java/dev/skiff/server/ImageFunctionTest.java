package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.invoker.SkiffConfig;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Functions from an OCI image: a func.yaml with {@code image:} deployed alone (application/yaml)
 * runs the image's entrypoint on the image's own read-only root. The image is built here: one
 * layer with a static HTTP responder (compiled from src/test/resources/image-function/responder.c
 * with gcc -static) that serves $FN_LISTENER and answers with what it sees, and a marker file that
 * only the image has.
 */
@QuarkusTest
@io.quarkus.test.common.QuarkusTestResource(FreshDataDir.class)
@io.quarkus.test.common.QuarkusTestResource(LocalKafkaResource.class)
class ImageFunctionTest {
    static final String MARKER = "only in the test image";
    static final String RUN_CONFIG = "{\"Env\":[\"PATH=/bin\",\"GREETING=from the image config\",\"WHO=image\"],"
            + "\"Entrypoint\":[\"/bin/responder\"],\"Cmd\":[\"hello from the image\"],\"WorkingDir\":\"/\",\"User\":\"4242:4343\"}";
    static Path work;
    static Path layout;
    static Path archive;

    @Inject
    SkiffConfig config;

    @BeforeAll
    static void buildImage() throws Exception {
        RequiresRoot.check();
        work = Files.createTempDirectory("skiff-image-test");
        Path responder = compileResponder(work);
        byte[] layer = layer(responder);
        layout = ociLayout(work.resolve("responder-oci"), layer, RUN_CONFIG, true);
        archive = tar(layout, work.resolve("responder-oci.tar"));
    }

    static ExtractableResponse<Response> deployYaml(String name, String yaml) {
        return given().contentType("application/yaml").body(yaml.getBytes(StandardCharsets.UTF_8)).when().put("/v1/functions/" + name).then().extract();
    }

    @Test
    void aFuncYamlNamingAnImageRunsTheImagesEntrypointOnTheImagesRoot() {
        var r = deployYaml("img-imaged", "name: img-imaged\nimage: " + layout + "\nenv: {WHO: func.yaml}\n");
        assertEquals(201, r.statusCode(), r.asString());
        assertTrue(r.jsonPath().getBoolean("ready"), r.asString());

        String answer = given().body("ping").when().post("/fn/img-imaged").then().statusCode(200).extract().asString();
        List<String> fields = List.of(answer.split("\\|"));
        assertEquals("hello from the image", fields.get(0), answer); // Entrypoint + Cmd of the image config
        assertTrue(fields.contains("marker=" + MARKER), "the function sees the image's files: " + answer);
        assertTrue(fields.contains("host-python=no"), "the function does not see the host's /usr: " + answer);
        assertTrue(fields.contains("uid=4242") && fields.contains("gid=4343"), "the image's User: " + answer);
        assertTrue(fields.contains("GREETING=from the image config"), "the image's Env: " + answer);
        assertTrue(fields.contains("WHO=func.yaml"), "func.yaml's env overrides the image's: " + answer);
        assertTrue(fields.contains("body=ping"), answer);

        given().when().get("/v1/functions/img-imaged").then().statusCode(200)
                .body("runtime", equalTo("image")).body("image", equalTo(layout.toString()));
    }

    @Test
    void versionsOfAnImageFunctionRollBackAndTheCommandOverridesTheImages() throws IOException {
        String yaml = "name: img-versioned\nruntime: image\nimage: oci-archive:" + archive + "\n";
        assertEquals(201, deployYaml("img-versioned", yaml).statusCode());
        given().when().get("/fn/img-versioned").then().statusCode(200).body(containsString("hello from the image|"));

        var second = deployYaml("img-versioned", yaml + "command: [responder, second version]\n");
        assertEquals(200, second.statusCode(), second.asString());
        assertEquals(2, second.jsonPath().getInt("version"));
        given().when().get("/fn/img-versioned").then().statusCode(200).body(containsString("second version|"));

        // stored like a package that holds only func.yaml, which the catalog hands to other nodes
        Path v2 = config.dataDir().resolve("functions/img-versioned/versions/2");
        assertTrue(Files.isRegularFile(v2.resolve("package.tar.gz")));
        assertEquals(List.of("func.yaml", "image.id"), listing(v2.resolve("code")));
        String id = Files.readString(v2.resolve("image.id")).strip();
        assertTrue(id.matches("sha256:[0-9a-f]{64}"), id);
        assertEquals(id, Files.readString(v2.resolve("code/image.id")).strip(), "the package carries the pin to other nodes");

        given().contentType("application/json").body("{\"version\": 1}").when().post("/v1/functions/img-versioned/rollback")
                .then().statusCode(200).body("version", equalTo(1));
        given().when().get("/fn/img-versioned").then().statusCode(200).body(containsString("hello from the image|"));
        given().when().get("/v1/functions/img-versioned/versions").then().statusCode(200).body("size()", equalTo(2));
    }

    @Test
    void aBadImageIsRefusedWithItsPathAndNothingIsStored() throws Exception {
        Path missing = work.resolve("no-such-image.tar");
        Path notAnImage = Files.createDirectories(work.resolve("not-an-image"));
        Files.writeString(notAnImage.resolve("readme"), "just a folder");
        // An image of its own (another config, so another id: the cache never holds it unpacked
        // already) with a plain tar layer, in which one byte of the marker's content is changed:
        // still a good tar of the same size, but no longer the content its digest names.
        Path corrupt = ociLayout(work.resolve("corrupt-oci"), layer(work.resolve("responder")),
                RUN_CONFIG.replace("WHO=image", "WHO=corrupt"), false);
        try (var blobs = Files.list(corrupt.resolve("blobs/sha256"))) {
            Path biggest = blobs.max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length())).orElseThrow();
            byte[] bytes = Files.readAllBytes(biggest);
            int at = new String(bytes, StandardCharsets.ISO_8859_1).indexOf(MARKER);
            assertTrue(at > 0, "the marker is in the plain layer");
            bytes[at] ^= 0x20;
            Files.write(biggest, bytes);
        }
        for (Path image : List.of(missing, notAnImage, corrupt)) {
            var r = deployYaml("img-broken", "name: img-broken\nimage: " + image + "\n");
            assertEquals(400, r.statusCode(), image + ": " + r.asString());
            assertTrue(r.contentType().startsWith("application/json"), r.contentType());
            assertEquals("invalid_image", r.jsonPath().getString("error"), r.asString());
            assertTrue(r.jsonPath().getString("message").contains(image.toString()), "the message names the path: " + r.asString());
            given().when().get("/v1/functions/img-broken").then().statusCode(404);
            assertFalse(Files.exists(config.dataDir().resolve("functions/img-broken")), "nothing stored for " + image);
        }
        var r = deployYaml("img-broken", "name: img-broken\nimage: " + corrupt + "\n");
        assertTrue(r.jsonPath().getString("message").contains("digest"), r.asString());
    }

    @Test
    void registryReferencesAndFuncYamlsWithoutAnImageAreRefused() {
        for (String ref : List.of("docker.io/library/busybox:latest", "busybox", "docker://busybox")) {
            var r = deployYaml("img-remote", "name: img-remote\nimage: " + ref + "\n");
            assertEquals(400, r.statusCode(), r.asString());
            assertEquals("invalid_image", r.jsonPath().getString("error"));
            assertTrue(r.jsonPath().getString("message").contains("only local images are supported"), r.asString());
            assertTrue(r.jsonPath().getString("message").contains("registry reference"), r.asString());
        }
        var relative = deployYaml("img-remote", "name: img-remote\nimage: ./hello.tar\n");
        assertEquals(400, relative.statusCode());
        assertTrue(relative.jsonPath().getString("message").contains("not an absolute path"), relative.asString());

        var noImage = deployYaml("img-plain", "name: img-plain\nruntime: python\n");
        assertEquals(400, noImage.statusCode(), noImage.asString());
        assertEquals("package_needed", noImage.jsonPath().getString("error"));
        assertTrue(noImage.jsonPath().getString("message").contains("application/gzip"), noImage.asString());

        var both = deployYaml("img-both", "name: img-both\nruntime: python\nimage: " + layout + "\n");
        assertEquals(400, both.statusCode());
        assertTrue(both.jsonPath().getString("message").contains("'runtime: python' and 'image'"), both.asString());

        given().contentType("text/yaml").body("name: img-plain\nruntime: python\n".getBytes(StandardCharsets.UTF_8)).when().put("/v1/functions/img-plain")
                .then().statusCode(400).body("error", equalTo("package_needed"));
        for (String name : List.of("img-remote", "img-plain", "img-both")) given().when().get("/v1/functions/" + name).then().statusCode(404);
    }

    @Test
    void anImageFunctionIsDeployedAsItsFuncYamlAloneNotInAPackage() throws IOException {
        byte[] pkg = Functions.rawTar(java.util.Map.of("func.yaml", "name: img-packed\nimage: " + layout + "\n", "handler.py", "x = 1\n"));
        given().contentType("application/gzip").body(pkg).when().put("/v1/functions/img-packed").then().statusCode(400)
                .body("error", equalTo("image_with_code")).body("message", containsString("handler.py"));
        given().when().get("/v1/functions/img-packed").then().statusCode(404);

        // what another node does with a catalog package whose pin is not the image at that path here
        byte[] pinned = Functions.rawTar(java.util.Map.of("func.yaml", "name: img-packed\nimage: " + layout + "\n", "image.id", "sha256:" + "0".repeat(64)));
        given().contentType("application/gzip").body(pinned).when().put("/v1/functions/img-packed").then().statusCode(400)
                .body("error", equalTo("image_mismatch")).body("message", containsString(layout.toString()));
        given().when().get("/v1/functions/img-packed").then().statusCode(404);
    }

    // --- the test image -------------------------------------------------------------------------

    static Path compileResponder(Path dir) throws IOException, InterruptedException {
        Path source = dir.resolve("responder.c");
        try (InputStream in = ImageFunctionTest.class.getResourceAsStream("/image-function/responder.c")) {
            Files.copy(in, source);
        }
        Path binary = dir.resolve("responder");
        Process gcc = new ProcessBuilder("gcc", "-static", "-O2", "-o", binary.toString(), source.toString())
                .redirectErrorStream(true).start();
        String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(gcc.waitFor(120, TimeUnit.SECONDS) && gcc.exitValue() == 0,
                "gcc -static failed (scripts/setup installs gcc and libc6-dev): " + output);
        return binary;
    }

    /** One gzip'ed layer: /bin/responder, /etc/skiff-marker, and the directories around them. */
    static byte[] layer(Path responder) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            for (String d : List.of("bin/", "etc/")) entry(tar, d, null, 0755);
            entry(tar, "bin/responder", Files.readAllBytes(responder), 0755);
            entry(tar, "etc/skiff-marker", (MARKER + "\n").getBytes(StandardCharsets.UTF_8), 0644);
        }
        return bytes.toByteArray();
    }

    private static void entry(TarArchiveOutputStream tar, String name, byte[] content, int mode) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode((content == null ? 040000 : 0100000) | mode);
        if (content != null) e.setSize(content.length);
        tar.putArchiveEntry(e);
        if (content != null) tar.write(content);
        tar.closeArchiveEntry();
    }

    /** An OCI image layout: blobs by digest, a manifest, an index; the layer's diff_id is the digest of its plain tar. */
    static Path ociLayout(Path dir, byte[] layerTar, String runConfig, boolean gzipped) throws Exception {
        Files.createDirectories(dir.resolve("blobs/sha256"));
        byte[] blob = gzipped ? gzip(layerTar) : layerTar;
        byte[] config = ("{\"architecture\":\"" + (System.getProperty("os.arch").equals("aarch64") ? "arm64" : System.getProperty("os.arch")) + "\",\"os\":\"linux\",\"config\":" + runConfig
                + ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + sha256(layerTar) + "\"]}}").getBytes(StandardCharsets.UTF_8);
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":"
                + blob(dir, "application/vnd.oci.image.config.v1+json", config) + ",\"layers\":["
                + blob(dir, "application/vnd.oci.image.layer.v1.tar" + (gzipped ? "+gzip" : ""), blob) + "]}").getBytes(StandardCharsets.UTF_8);
        String manifestDescriptor = blob(dir, "application/vnd.oci.image.manifest.v1+json", manifest);
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[" + manifestDescriptor + "]}");
        return dir;
    }

    private static String blob(Path layout, String mediaType, byte[] content) throws Exception {
        String digest = sha256(content);
        Files.write(layout.resolve("blobs/sha256").resolve(digest.substring(7)), content);
        return "{\"mediaType\":\"" + mediaType + "\",\"digest\":\"" + digest + "\",\"size\":" + content.length + "}";
    }

    private static String sha256(byte[] content) throws Exception {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    }

    private static byte[] gzip(byte[] plain) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(plain);
        }
        return out.toByteArray();
    }

    /** The layout packed as one tar (an OCI archive, as skopeo copy oci-archive: writes it). */
    static Path tar(Path dir, Path out) throws IOException {
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(Files.newOutputStream(out)); var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
                entry(tar, dir.relativize(p).toString(), Files.readAllBytes(p), 0644);
            }
        }
        return out;
    }

    private static List<String> listing(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return new ArrayList<>(s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
