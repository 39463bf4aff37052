package dev.skiff.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy, invoke, list, describe, delete and logs against {@link TestGateway}. */
class GatewayCommandsTest {

    @TempDir
    Path tmp;

    TestGateway gateway;

    @BeforeEach
    void start() throws IOException {
        gateway = new TestGateway();
    }

    @AfterEach
    void stop() {
        gateway.close();
    }

    private Path functionDir(String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.writeString(dir.resolve("func.yaml"), "name: " + name + "\nruntime: python\n");
        Files.writeString(dir.resolve("handler.py"), "def handle(e, c):\n    return 'hi'\n");
        return dir;
    }

    // ---- deploy

    @Test
    void deployUploadsArchiveAndPrintsUrl() throws IOException {
        Path dir = functionDir("hello");
        gateway.on("PUT /v1/functions/hello", request -> {
            assertEquals("application/gzip", request.header("Content-Type"));
            Map<String, PackagerTest.Unpacked> entries = PackagerTest.unpack(request.body());
            assertEquals("name: hello\nruntime: python\n", entries.get("func.yaml").text());
            assertTrue(entries.containsKey("handler.py"));
            return TestGateway.Response.json(201, "{\"name\": \"hello\", \"version\": 3, \"url\": \""
                    + gateway.url() + "/fn/hello\", \"ready\": true, \"message\": \"ok\"}");
        });

        FnRunner.Result r = FnRunner.run(gateway.env(), "deploy", dir.toString());

        assertEquals(0, r.code(), r.toString());
        assertEquals("Deployed hello (version 3): " + gateway.url() + "/fn/hello\n", r.out());
        assertTrue(r.err().startsWith("Uploading hello ("), r.err());
        assertEquals(1, gateway.requests.size());
        assertNull(gateway.last().header("Authorization"));
    }

    @Test
    void deployOfAFuncYamlNamingAnImageUploadsOnlyTheFuncYaml() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("imaged"));
        String yaml = "name: imaged\nimage: /srv/images/hello.tar\n";
        Files.writeString(dir.resolve("func.yaml"), yaml);
        Files.writeString(dir.resolve("README"), "not uploaded: the code is the image");
        gateway.on("PUT /v1/functions/imaged", request -> {
            assertEquals("application/yaml", request.header("Content-Type"));
            assertEquals(yaml, request.text());
            return TestGateway.Response.json(201, "{\"name\": \"imaged\", \"version\": 1, \"url\": \"http://x/fn/imaged\", \"ready\": true}");
        });

        FnRunner.Result r = FnRunner.run(gateway.env(), "deploy", dir.toString());

        assertEquals(0, r.code(), r.toString());
        assertEquals("Deployed imaged (version 1): http://x/fn/imaged\n", r.out());
        assertTrue(r.err().startsWith("Uploading imaged (func.yaml, image /srv/images/hello.tar) to "), r.err());
        assertEquals(1, gateway.requests.size());
    }

    @Test
    void deploySendsTokenAndGatewayFlagWins() throws IOException {
        Path dir = functionDir("hello");
        gateway.on("PUT /v1/functions/hello", request -> TestGateway.Response.json(200,
                "{\"name\": \"hello\", \"version\": 1, \"url\": \"http://x/fn/hello\", \"ready\": true}"));
        Map<String, String> env = Map.of("SKIFF_GATEWAY", "http://127.0.0.1:1", "SKIFF_TOKEN", "s3cret");

        FnRunner.Result r = FnRunner.run(env, "deploy", dir.toString(), "--gateway", gateway.url() + "/");

        assertEquals(0, r.code(), r.toString());
        assertEquals("Deployed hello (version 1): http://x/fn/hello\n", r.out());
        assertEquals("Bearer s3cret", gateway.last().header("Authorization"));
    }

    @Test
    void deployNotReadyExitsWithMessage() throws IOException {
        Path dir = functionDir("hello");
        gateway.on("PUT /v1/functions/hello", request -> TestGateway.Response.json(201,
                "{\"name\": \"hello\", \"version\": 2, \"url\": \"http://x/fn/hello\", \"ready\": false,"
                        + " \"message\": \"handler.py: SyntaxError on line 3\"}"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "deploy", dir.toString());

        assertEquals(1, r.code(), r.toString());
        assertEquals("", r.out());
        assertTrue(r.err().endsWith("fn: hello (version 2) is not ready: handler.py: SyntaxError on line 3\n"),
                r.err());
    }

    @Test
    void deployErrorShowsServerMessage() throws IOException {
        Path dir = functionDir("hello");
        gateway.on("PUT /v1/functions/hello", request -> TestGateway.Response.json(400,
                "{\"error\": \"bad_archive\", \"message\": \"symlink lib/x points outside the function\"}"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "deploy", dir.toString());

        assertEquals(1, r.code());
        assertTrue(r.err().endsWith("fn: deploy failed: symlink lib/x points outside the function\n"), r.err());
    }

    @Test
    void deployErrorFallsBackToRawBody() throws IOException {
        Path dir = functionDir("hello");
        gateway.on("PUT /v1/functions/hello", request -> TestGateway.Response.text(502, "Bad Gateway\n"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "deploy", dir.toString());

        assertEquals(1, r.code());
        assertTrue(r.err().endsWith("fn: deploy failed: Bad Gateway\n"), r.err());
    }

    @Test
    void deployWithoutFuncYaml() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("bare"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "deploy", dir.toString());

        assertEquals(1, r.code());
        assertEquals("fn: " + dir + " has no func.yaml (create one with ./fn init)\n", r.err());
        assertTrue(gateway.requests.isEmpty());
    }

    @Test
    void deployWithoutNameInFuncYaml() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("noname"));
        Files.writeString(dir.resolve("func.yaml"), "runtime: python\n");

        FnRunner.Result r = FnRunner.run(gateway.env(), "deploy", dir.toString());

        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("fn: " + dir.resolve("func.yaml") + " has no name"), r.err());
        assertTrue(gateway.requests.isEmpty());
    }

    @Test
    void deployToMissingFolder() {
        FnRunner.Result r = FnRunner.run(gateway.env(), "deploy", tmp.resolve("nope").toString());
        assertEquals(1, r.code());
        assertEquals("fn: no such folder: " + tmp.resolve("nope") + "\n", r.err());
    }

    // ---- invoke

    @Test
    void invokeWithDataPostsAndPrintsBodyExactly() {
        gateway.on("POST /fn/hello/items", request -> {
            assertEquals("limit=5", request.query());
            assertEquals("1", request.header("X-Test"));
            return TestGateway.Response.text(200, "Hello, " + request.text());
        });

        FnRunner.Result r = FnRunner.run(gateway.env(), "invoke", "hello", "--data", "Ada",
                "--path", "/items?limit=5", "-H", "X-Test: 1");

        assertEquals(0, r.code(), r.toString());
        assertEquals("Hello, Ada", r.out(), "no newline added when stdout is not a terminal");
        assertEquals("", r.err());
        assertNull(gateway.last().header("Authorization"), "no token anywhere, none sent");
    }

    @Test
    void invokeReadsBodyFromStdin() {
        gateway.on("POST /fn/hello", request -> new TestGateway.Response(200, "application/octet-stream", request.body()));
        byte[] binary = {0, 1, 2, (byte) 0xff, '\n'};

        FnRunner.Result r = FnRunner.run(gateway.env(), binary, "invoke", "hello");

        assertEquals(0, r.code(), r.toString());
        assertArrayEquals(binary, gateway.last().body());
        assertArrayEquals(binary, r.stdout(), "response bytes are written unchanged");
    }

    @Test
    void invokeWithoutBodyUsesGet() {
        gateway.on("GET /fn/hello", request -> TestGateway.Response.text(200, "Hello, world\n"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "invoke", "hello");

        assertEquals(0, r.code(), r.toString());
        assertEquals("Hello, world\n", r.out());
        assertEquals(0, gateway.last().body().length);
    }

    @Test
    void invokeWithExplicitMethod() {
        gateway.on("PUT /fn/hello", request -> TestGateway.Response.text(200, "put " + request.text()));

        FnRunner.Result r = FnRunner.run(gateway.env(), "invoke", "hello", "-X", "put", "-d", "x");

        assertEquals(0, r.code(), r.toString());
        assertEquals("put x", r.out());
    }

    @Test
    void invokeErrorPrintsBodyAndStatus() {
        gateway.on("GET /fn/hello", request -> TestGateway.Response.text(500, "Traceback: boom"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "invoke", "hello");

        assertEquals(1, r.code());
        assertEquals("Traceback: boom", r.out());
        assertEquals("fn: 500 from hello\n", r.err());
    }

    @Test
    void invokeBadHeaderIsUsageError() {
        FnRunner.Result r = FnRunner.run(gateway.env(), "invoke", "hello", "-H", "nocolon");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("fn: invalid header 'nocolon'"), r.err());
        assertTrue(r.err().contains("\nusage: fn invoke NAME"), r.err());
    }

    // ---- list, describe, delete, logs

    @Test
    void listPrintsAlignedTable() {
        gateway.on("GET /v1/functions", request -> TestGateway.Response.json(200, """
                [{"name": "hello", "version": 3, "runtime": "python", "url": "http://localhost:8080/fn/hello"},
                 {"name": "resize-image", "version": 12, "runtime": "python",
                  "url": "http://localhost:8080/fn/resize-image", "extra": true}]"""));

        FnRunner.Result r = FnRunner.run(gateway.env(), "list");

        assertEquals(0, r.code(), r.toString());
        assertEquals("""
                NAME          VERSION  RUNTIME  URL
                hello         3        python   http://localhost:8080/fn/hello
                resize-image  12       python   http://localhost:8080/fn/resize-image
                """, r.out());
    }

    @Test
    void listEmpty() {
        gateway.on("GET /v1/functions", request -> TestGateway.Response.json(200, "[]"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "list");

        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("No functions deployed yet."), r.out());
    }

    @Test
    void listSendsToken() {
        gateway.on("GET /v1/functions", request -> TestGateway.Response.json(200, "[]"));
        Map<String, String> env = new HashMap<>(gateway.env());
        env.put("SKIFF_TOKEN", "t0k");

        FnRunner.run(env, "list");

        assertEquals("Bearer t0k", gateway.last().header("Authorization"));
    }

    @Test
    void unauthorizedHintsAtToken() {
        gateway.on("GET /v1/functions", request -> TestGateway.Response.json(401,
                "{\"error\": \"unauthorized\", \"message\": \"missing token\"}"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "list");

        assertEquals(1, r.code());
        assertEquals("fn: missing token (no token: looked at --token, SKIFF_TOKEN and a credentials file (no HOME set))\n", r.err());
    }

    @Test
    void describePrettyPrintsJson() throws IOException {
        gateway.on("GET /v1/functions/hello", request -> TestGateway.Response.json(200,
                "{\"name\":\"hello\",\"version\":3,\"replicas\":[1,2]}"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "describe", "hello");

        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("{\n  \"name\": \"hello\",\n"), r.out());
        JsonNode node = Json.MAPPER.readTree(r.out());
        assertEquals(3, node.get("version").asInt());
    }

    @Test
    void describeMissingFunction() {
        FnRunner.Result r = FnRunner.run(gateway.env(), "describe", "nope");
        assertEquals(1, r.code());
        assertEquals("fn: no route GET /v1/functions/nope\n", r.err());
    }

    @Test
    void versionsPrintsATableWithTheCurrentOneMarked() {
        gateway.on("GET /v1/functions/hello/versions", request -> TestGateway.Response.json(200,
                "[{\"version\": 1, \"deployedAt\": \"2026-01-01T00:00:00Z\", \"current\": true},"
                        + " {\"version\": 2, \"deployedAt\": \"2026-01-02T00:00:00Z\", \"current\": false}]"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "versions", "hello");

        assertEquals(0, r.code(), r.toString());
        assertEquals("VERSION  DEPLOYED              CURRENT\n"
                + "1        2026-01-01T00:00:00Z  *\n"
                + "2        2026-01-02T00:00:00Z\n", r.out());
    }

    @Test
    void rollbackPostsTheVersionAsJson() {
        gateway.on("POST /v1/functions/hello/rollback", request -> {
            assertEquals("application/json", request.header("Content-Type"));
            assertEquals("{\"version\": 2}", new String(request.body(), java.nio.charset.StandardCharsets.UTF_8));
            return TestGateway.Response.json(200, "{\"name\": \"hello\", \"version\": 2, \"status\": \"ready\"}");
        });

        FnRunner.Result r = FnRunner.run(gateway.env(), "rollback", "hello", "2");

        assertEquals(0, r.code(), r.toString());
        assertEquals("Rolled hello back to version 2 (ready)\n", r.out());
    }

    @Test
    void rollbackNeedsANumericVersion() {
        FnRunner.Result r = FnRunner.run(gateway.env(), "rollback", "hello", "latest");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("VERSION must be a number"), r.err());
        assertEquals(2, FnRunner.run(gateway.env(), "rollback", "hello").code());
    }

    @Test
    void deleteSucceeds() {
        gateway.on("DELETE /v1/functions/hello", request -> new TestGateway.Response(204, null, new byte[0]));

        FnRunner.Result r = FnRunner.run(gateway.env(), "delete", "hello");

        assertEquals(0, r.code(), r.toString());
        assertEquals("Deleted hello\n", r.out());
        assertEquals("DELETE", gateway.last().method());
    }

    @Test
    void deleteMissingShowsMessage() {
        gateway.on("DELETE /v1/functions/nope", request -> TestGateway.Response.json(404,
                "{\"error\": \"not_found\", \"message\": \"function nope not found\"}"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "delete", "nope");

        assertEquals(1, r.code());
        assertEquals("", r.out());
        assertEquals("fn: function nope not found\n", r.err());
    }

    @Test
    void deleteMissingWithoutBody() {
        gateway.on("DELETE /v1/functions/nope", request -> new TestGateway.Response(404, null, new byte[0]));
        FnRunner.Result r = FnRunner.run(gateway.env(), "delete", "nope");
        assertEquals("fn: no function named nope\n", r.err());
    }

    @Test
    void logsPrintsBody() {
        gateway.on("GET /v1/functions/hello/logs", request -> TestGateway.Response.text(200, "line 1\nline 2\n"));

        FnRunner.Result r = FnRunner.run(gateway.env(), "logs", "hello");

        assertEquals(0, r.code());
        assertEquals("line 1\nline 2\n", r.out());
    }

    // ---- connectivity and general behaviour

    @Test
    void connectionRefusedSuggestsFnUp() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        String url = "http://127.0.0.1:" + port;

        FnRunner.Result r = FnRunner.run(Map.of("SKIFF_GATEWAY", url), "list");

        assertEquals(1, r.code());
        assertEquals("fn: cannot reach Skiff at " + url + ": is it running? Start it with ./fn up\n", r.err());
    }

    @Test
    void invalidGatewayFlag() {
        FnRunner.Result r = FnRunner.run("--gateway", "localhost:8080", "list");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("fn: invalid gateway URL 'localhost:8080'"), r.err());
    }

    @Test
    void globalGatewayBeforeCommand() {
        gateway.on("GET /v1/functions", request -> TestGateway.Response.json(200, "[]"));
        FnRunner.Result r = FnRunner.run("--gateway=" + gateway.url(), "list");
        assertEquals(0, r.code(), r.toString());
    }

    @Test
    void invalidNameIsRejectedBeforeCalling() {
        FnRunner.Result r = FnRunner.run(gateway.env(), "describe", "Bad_Name");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("fn: invalid function name 'Bad_Name'"), r.err());
        assertTrue(gateway.requests.isEmpty());
    }
}
