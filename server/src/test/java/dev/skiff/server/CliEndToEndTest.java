package dev.skiff.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.cli.Fn;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The README's "try it", driven through the real fn CLI against a running Skiff. */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class CliEndToEndTest {
    record Run(int code, String out, String err) {}

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static Run fn(String stdin, String... args) {
        // As a user's shell would have it: the CLI finds the token fn up wrote under $HOME.
        return fnIn(Map.of("HOME", FreshDataDir.home().toString()), stdin, args);
    }

    static Run fnIn(Map<String, String> env, String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Map<String, String> all = new java.util.HashMap<>(env);
        all.put("SKIFF_GATEWAY", RestAssured.baseURI + ":" + RestAssured.port);
        int code = Fn.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), all);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void tokensThroughTheCli() throws Exception {
        Run created = fn("", "token", "create", "--scope", "invoke", "--name", "cli-e2e");
        assertEquals(0, created.code(), created.err());
        String invoke = created.out().strip();
        assertTrue(invoke.startsWith("skiff_"), created.out());
        assertTrue(fn("", "token", "list").out().contains("cli-e2e"));

        WalkingSkeletonTest.deploy("cli-locked", Functions.pack("cli-locked", "auth: token\n", WalkingSkeletonTest.HELLO), 201);
        Map<String, String> withInvoke = Map.of("SKIFF_TOKEN", invoke);
        Run call = fnIn(withInvoke, "", "invoke", "cli-locked", "--data", "token");
        assertEquals(0, call.code(), call.err());
        assertEquals("Hello, token", call.out());
        Run forbidden = fnIn(withInvoke, "", "list");
        assertEquals(1, forbidden.code());
        assertTrue(forbidden.err().contains("admin token") && forbidden.err().contains("(token from SKIFF_TOKEN)"), forbidden.err());

        Path nowhere = Files.createTempDirectory("fn-no-home");
        Run anonymous = fnIn(Map.of("HOME", nowhere.toString()), "", "invoke", "cli-locked");
        assertEquals(1, anonymous.code());
        assertTrue(anonymous.err().startsWith("fn: 401 from cli-locked: "), anonymous.err());
        assertTrue(anonymous.err().contains("no token: looked at --token, SKIFF_TOKEN and " + nowhere), anonymous.err());

        String id = fn("", "token", "list").out().lines().filter(l -> l.contains("cli-e2e")).map(l -> l.split("\\s+")[0])
                .findFirst().orElseThrow();
        assertEquals(0, fn("", "token", "revoke", id).code());
        assertEquals(1, fnIn(withInvoke, "", "invoke", "cli-locked").code());
    }

    @Test
    void initDeployInvoke() throws Exception {
        Path work = Files.createTempDirectory("fn-cli");
        String folder = work.resolve("hello-cli").toString();

        Run init = fn("", "init", "--runtime", "python", folder);
        assertEquals(0, init.code(), init.err());
        assertTrue(Files.exists(Path.of(folder, "func.yaml")));
        assertTrue(Files.exists(Path.of(folder, "handler.py")));
        assertTrue(Files.readString(Path.of(folder, "func.yaml")).contains("name: hello-cli"));

        Run deploy = fn("", "deploy", folder);
        assertEquals(0, deploy.code(), deploy.err());
        assertTrue(deploy.out().matches("(?s)Deployed hello-cli \\(version \\d+\\): http://.*/fn/hello-cli\\s*"), deploy.out());

        Run withData = fn("", "invoke", "hello-cli", "--data", "world");
        assertEquals(0, withData.code(), withData.err());
        assertEquals("Hello, world", withData.out());

        Run fromStdin = fn("Ana", "invoke", "hello-cli");
        assertEquals(0, fromStdin.code(), fromStdin.err());
        assertEquals("Hello, Ana", fromStdin.out());

        Run list = fn("", "list");
        assertEquals(0, list.code(), list.err());
        assertTrue(list.out().contains("hello-cli"), list.out());
    }

    @Test
    void deployingAFolderWithoutFuncYamlSaysSo() throws Exception {
        Path empty = Files.createTempDirectory("fn-empty");
        Files.writeString(empty.resolve("handler.py"), "def handle(e, c):\n    return 'x'\n");
        Run deploy = fn("", "deploy", empty.toString());
        assertEquals(1, deploy.code());
        assertTrue(deploy.err().contains("func.yaml"), deploy.err());
    }

    @Test
    void invokingAnUnknownFunctionFails() {
        Run r = fn("", "invoke", "ghost");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("404") || r.err().contains("ghost"), r.err());
    }

    @Test
    void versionsAndRollback() throws Exception {
        WalkingSkeletonTest.deploy("cli-flip", Functions.pack("cli-flip", "", "def handle(e, c):\n    return 'one'\n"), 201);
        WalkingSkeletonTest.deploy("cli-flip", Functions.pack("cli-flip", "", "def handle(e, c):\n    return 'two'\n"), 200);

        Run versions = fn("", "versions", "cli-flip");
        assertEquals(0, versions.code(), versions.err());
        assertTrue(versions.out().startsWith("VERSION"), versions.out());
        assertTrue(versions.out().lines().anyMatch(l -> l.startsWith("2 ") && l.endsWith("*")), versions.out());

        Run rollback = fn("", "rollback", "cli-flip", "1");
        assertEquals(0, rollback.code(), rollback.err());
        assertTrue(rollback.out().startsWith("Rolled cli-flip back to version 1"), rollback.out());
        assertEquals("one", fn("", "invoke", "cli-flip").out());
        assertTrue(fn("", "versions", "cli-flip").out().lines().anyMatch(l -> l.startsWith("1 ") && l.endsWith("*")));

        Run missing = fn("", "rollback", "cli-flip", "7");
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no version 7"), missing.err());
        assertEquals(2, fn("", "rollback", "cli-flip", "x").code());
    }
}
