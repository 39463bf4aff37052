package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bodies pass through in both directions without being held whole, and the size limit holds for chunked bodies too. */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class StreamingTest {
    static final String DIGEST = """
            import hashlib
            def handle(event, context):
                if event.path == "/big":
                    return b"x" * (20 << 20)
                return hashlib.sha256(event.body).hexdigest() + " " + str(len(event.body))
            """;

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @org.junit.jupiter.api.BeforeEach
    void deploy() throws Exception {
        int status = given().when().get("/v1/functions/digest").then().extract().statusCode();
        if (status == 404) {
            given().contentType("application/gzip").body(Functions.pack("digest", "memory: 256Mi\n", DIGEST))
                    .when().put("/v1/functions/digest").then().statusCode(201);
        }
    }

    static URI uri(String path) {
        return URI.create(RestAssured.baseURI + ":" + RestAssured.port + path);
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void aLargeResponseArrivesWhole() throws Exception {
        HttpResponse<InputStream> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri("/fn/digest/big")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        long n = 0;
        try (InputStream in = r.body()) {
            byte[] buf = new byte[65536];
            for (int k; (k = in.read(buf)) > 0; ) n += k;
        }
        assertEquals(20L << 20, n);
        assertEquals(String.valueOf(20L << 20), r.headers().firstValue("Content-Length").orElse("chunked"));
    }

    @Test
    void aChunkedRequestBodyReachesTheFunctionWhole() throws Exception {
        byte[] body = new byte[3 << 20];
        new java.util.Random(7).nextBytes(body);
        // ofInputStream has no length, so the client sends it chunked.
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri("/fn/digest"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(sha256(body) + " " + body.length, r.body());
    }

    @Test
    void aBodyWithContentLengthIsStreamedThrough() throws Exception {
        byte[] body = new byte[5 << 20];
        new java.util.Random(9).nextBytes(body);
        String answer = given().body(body).when().post("/fn/digest").then().statusCode(200).extract().asString();
        assertEquals(sha256(body) + " " + body.length, answer);
    }

    @Test
    void aChunkedBodyOverTheLimitGets413() throws Exception {
        byte[] body = new byte[7 << 20];
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri("/fn/digest"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(413, r.statusCode(), r.body());
        given().body("after").when().post("/fn/digest").then().statusCode(200);
    }
}
