package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.restassured.response.ExtractableResponse;
import io.restassured.response.Response;
import io.quarkus.test.junit.QuarkusTest;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Refused uploads beyond those in {@link WalkingSkeletonTest#badPackagesAreRefusedAndNothingIsStored}:
 * each gets a 4xx with a JSON error that names the problem, and a function already deployed
 * keeps its current version.
 */
@QuarkusTest
@io.quarkus.test.common.QuarkusTestResource(FreshDataDir.class)
@io.quarkus.test.common.QuarkusTestResource(LocalKafkaResource.class)
class BadPackagesTest {
    static final String YAML = "name: guarded\nruntime: python\n";
    static final String HANDLER = "def handle(e, c):\n    return 'good'\n";

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static ExtractableResponse<Response> upload(String contentType, byte[] body) {
        return given().contentType(contentType).body(body).when().put("/v1/functions/guarded?warm=false").then().extract();
    }

    @Test
    void refusedRedeploysKeepThePreviousVersionCurrent() throws Exception {
        WalkingSkeletonTest.deploy("guarded", Functions.pack("guarded", "", HANDLER), 201);

        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("package_too_large", Functions.bomb("guarded", 16L << 20)); // 16 MiB of zeros, a few KB gzip'ed; the test limit is 8 MiB
        bad.put("package_special_file", Functions.rawTar(Map.of("func.yaml", YAML, "pipe", "special:6")));
        bad.put("package_special_file ", Functions.rawTar(Map.of("func.yaml", YAML, "null", "special:3")));
        bad.put("package_hardlink", Functions.rawTar(Map.of("func.yaml", YAML, "handler.py", HANDLER, "copy.py", "hardlink:handler.py")));
        bad.put("package_symlink_out", Functions.rawTar(Map.of("func.yaml", YAML, "handler.py", "symlink:../../../../etc/passwd")));
        bad.put("package_bad_path", Functions.rawTar(Map.of("func.yaml", YAML, "sub/../../x.py", "x")));
        bad.put("package_malformed", gzippedNoise());
        bad.put("package_malformed ", "plain text, not gzip".getBytes());
        bad.put("unknown_key", Functions.rawTar(Map.of("func.yaml", YAML + "colour: blue\n", "handler.py", HANDLER)));
        assertTrue(Functions.bomb("guarded", 16L << 20).length < 64 << 10, "the bomb is small on the wire");

        for (var e : bad.entrySet()) {
            String expected = e.getKey().strip();
            var r = upload("application/gzip", e.getValue());
            assertEquals(400, r.statusCode(), expected + ": " + r.asString());
            assertTrue(r.contentType().startsWith("application/json"), r.contentType());
            assertEquals(expected, r.jsonPath().getString("error"), r.asString());
            assertTrue(!r.jsonPath().getString("message").isBlank());
            given().when().get("/v1/functions/guarded").then().statusCode(200).body("version", equalTo(1));
        }
        assertTrue(upload("application/gzip", bad.get("package_too_large")).jsonPath().getString("message").contains("8388608 bytes"));
        assertTrue(upload("application/gzip", bad.get("unknown_key")).jsonPath().getString("message").contains("'colour'"));

        given().contentType("application/json").body("{}").when().put("/v1/functions/guarded").then().statusCode(415)
                .body("error", equalTo("unsupported_media_type")).body("message", containsString("application/gzip"));
        given().when().get("/v1/functions/guarded/versions").then().statusCode(200).body("size()", equalTo(1));
        given().when().get("/fn/guarded").then().statusCode(200).body(equalTo("good"));
    }

    @Test
    void aRefusedFirstDeployStoresNothing() throws Exception {
        var r = given().contentType("application/gzip").body(Functions.bomb("fresh", 16L << 20))
                .when().put("/v1/functions/fresh").then().extract();
        assertEquals(400, r.statusCode(), r.asString());
        assertEquals("package_too_large", r.jsonPath().getString("error"));
        given().when().get("/v1/functions/fresh").then().statusCode(404).body("error", equalTo("function_not_found"));
        given().contentType("application/x-www-form-urlencoded").body("a=b").when().put("/v1/functions/fresh").then().statusCode(415)
                .body("message", containsString("application/gzip"));
        given().when().get("/v1/functions/fresh").then().statusCode(404);
    }

    /** A valid gzip whose content is no tar archive. */
    static byte[] gzippedNoise() throws java.io.IOException {
        byte[] noise = new byte[4096];
        new java.util.Random(7).nextBytes(noise);
        var bytes = new java.io.ByteArrayOutputStream();
        try (var out = new java.util.zip.GZIPOutputStream(bytes)) {
            out.write(noise);
        }
        return bytes.toByteArray();
    }
}
