package dev.skiff.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the CLI finds its token, what it says on 401/403, and fn token create/list/revoke. */
class TokenCommandTest {
    @TempDir
    Path home;

    TestGateway gateway;

    @BeforeEach
    void start() throws IOException {
        gateway = new TestGateway();
        gateway.on("GET /v1/functions", request -> TestGateway.Response.json(200, "[]"));
    }

    @AfterEach
    void stop() {
        gateway.close();
    }

    private Path credentials(String content) throws IOException {
        Path file = home.resolve(".config/skiff/credentials");
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        return file;
    }

    private Map<String, String> env(String... more) {
        Map<String, String> env = new HashMap<>(gateway.env());
        env.put("HOME", home.toString());
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    @Test
    void theCredentialsFileUnderHomeIsFoundTheLineForTheGatewayFirst() throws IOException {
        credentials("# comment\ndefault skiff_default\n" + gateway.url() + "/ skiff_mine\nhttp://other:1 skiff_other\n");
        assertEquals(0, FnRunner.run(env(), "list").code());
        assertEquals("Bearer skiff_mine", gateway.last().header("Authorization"));

        credentials("default skiff_default\nhttp://other:1 skiff_other\n");
        assertEquals(0, FnRunner.run(env(), "list").code());
        assertEquals("Bearer skiff_default", gateway.last().header("Authorization"));
    }

    @Test
    void flagBeatsEnvironmentBeatsFile() throws IOException {
        credentials("default skiff_file\n");
        FnRunner.run(env("SKIFF_TOKEN", "skiff_env"), "list");
        assertEquals("Bearer skiff_env", gateway.last().header("Authorization"));
        FnRunner.run(env("SKIFF_TOKEN", "skiff_env"), "--token", "skiff_flag", "list");
        assertEquals("Bearer skiff_flag", gateway.last().header("Authorization"));
        FnRunner.run(env("SKIFF_TOKEN", "skiff_env"), "list", "--token=skiff_flag2");
        assertEquals("Bearer skiff_flag2", gateway.last().header("Authorization"));
    }

    @Test
    void skiffCredentialsNamesAnotherFile() throws IOException {
        Path other = home.resolve("elsewhere");
        Files.writeString(other, "default skiff_elsewhere\n");
        FnRunner.run(env("SKIFF_CREDENTIALS", other.toString()), "list");
        assertEquals("Bearer skiff_elsewhere", gateway.last().header("Authorization"));
    }

    @Test
    void refusalsSayWhereTheTokenCameFromOrWhereTheCliLooked() throws IOException {
        gateway.on("GET /v1/functions", request -> TestGateway.Response.json(request.header("Authorization") == null ? 401 : 403,
                "{\"error\": \"x\", \"message\": \"the server says why\"}"));
        FnRunner.Result none = FnRunner.run(env(), "list");
        assertEquals(1, none.code());
        assertEquals("fn: the server says why (no token: looked at --token, SKIFF_TOKEN and "
                + home.resolve(".config/skiff/credentials") + " (no such file))\n", none.err());

        Path file = credentials("default skiff_invoke\n");
        FnRunner.Result forbidden = FnRunner.run(env(), "list");
        assertEquals("fn: the server says why (token from " + file + " (default line))\n", forbidden.err());
        assertEquals("fn: the server says why (token from SKIFF_TOKEN)\n", FnRunner.run(env("SKIFF_TOKEN", "t"), "list").err());
    }

    @Test
    void invokeSendsTheTokenUnlessAHeaderGivesOne() throws IOException {
        credentials("default skiff_file\n");
        gateway.on("GET /fn/locked", request -> "Bearer skiff_file".equals(request.header("Authorization"))
                ? TestGateway.Response.text(200, "in")
                : TestGateway.Response.json(401, "{\"error\": \"unauthorized\", \"message\": \"function 'locked' needs an API token\"}"));
        FnRunner.Result ok = FnRunner.run(env(), "invoke", "locked");
        assertEquals(0, ok.code(), ok.toString());
        assertEquals("in", ok.out());

        FnRunner.Result own = FnRunner.run(env(), "invoke", "locked", "-H", "authorization: Bearer theirs");
        assertEquals("Bearer theirs", gateway.last().header("Authorization"));
        assertEquals(1, own.code());
        assertTrue(own.err().startsWith("fn: 401 from locked: function 'locked' needs an API token (token from "), own.err());
    }

    @Test
    void createPrintsTheTokenAloneOnStdout() {
        gateway.on("POST /v1/tokens", request -> {
            JsonNode body = Json.parse(request.body());
            assertEquals("application/json", request.header("Content-Type"));
            assertEquals("admin", body.get("scope").asText());
            assertEquals("ci", body.get("name").asText());
            return TestGateway.Response.json(201, "{\"id\": \"tok_1\", \"name\": \"ci\", \"scope\": \"admin\", \"token\": \"skiff_new\"}");
        });
        FnRunner.Result r = FnRunner.run(env("SKIFF_TOKEN", "skiff_admin"), "token", "create", "--scope", "admin", "--name", "ci");
        assertEquals(0, r.code(), r.toString());
        assertEquals("skiff_new\n", r.out());
        assertTrue(r.err().contains("tok_1") && r.err().contains("only this once"), r.err());
        assertEquals("Bearer skiff_admin", gateway.last().header("Authorization"));

        gateway.on("POST /v1/tokens", request -> {
            assertEquals("invoke", Json.parse(request.body()).get("scope").asText());
            assertNull(Json.parse(request.body()).get("name"));
            return TestGateway.Response.json(201, "{\"id\": \"tok_2\", \"name\": \"invoke\", \"scope\": \"invoke\", \"token\": \"skiff_2\"}");
        });
        assertEquals("skiff_2\n", FnRunner.run(env(), "token", "create").out());
    }

    @Test
    void listAndRevoke() {
        gateway.on("GET /v1/tokens", request -> TestGateway.Response.json(200,
                "[{\"id\": \"tok_a\", \"name\": \"fn-up\", \"scope\": \"admin\", \"createdAt\": \"2026-01-01T00:00:00Z\"}]"));
        FnRunner.Result list = FnRunner.run(env(), "token", "list");
        assertEquals(0, list.code(), list.toString());
        assertEquals("ID     NAME   SCOPE  CREATED\ntok_a  fn-up  admin  2026-01-01T00:00:00Z\n", list.out());

        gateway.on("DELETE /v1/tokens/tok_a", request -> TestGateway.Response.json(409,
                "{\"error\": \"last_admin_token\", \"message\": \"'tok_a' is the last admin token\"}"));
        FnRunner.Result last = FnRunner.run(env(), "token", "revoke", "tok_a");
        assertEquals(1, last.code());
        assertEquals("fn: 'tok_a' is the last admin token\n", last.err());

        gateway.on("DELETE /v1/tokens/tok_b", request -> new TestGateway.Response(204, null, new byte[0]));
        FnRunner.Result revoked = FnRunner.run(env(), "token", "revoke", "tok_b");
        assertEquals(0, revoked.code(), revoked.toString());
        assertEquals("Revoked tok_b\n", revoked.out());
    }

    @Test
    void usageErrors() {
        assertEquals(2, FnRunner.run(env(), "token").code());
        assertEquals(2, FnRunner.run(env(), "token", "mint").code());
        assertEquals(2, FnRunner.run(env(), "token", "create", "--scope", "root").code());
        assertEquals(2, FnRunner.run(env(), "token", "list", "--scope", "admin").code());
        assertEquals(2, FnRunner.run(env(), "token", "revoke").code());
        assertEquals(2, FnRunner.run(env(), "token", "revoke", "../x").code());
        assertEquals(0, gateway.requests.size(), "nothing sent");
    }
}
