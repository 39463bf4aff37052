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
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String gateway = RestAssured.baseURI + ":" + RestAssured.port;
        int code = Fn.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of("SKIFF_GATEWAY", gateway));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
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
