package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.invoker.LocalInvoker;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The walking skeleton end to end over real sockets: deploy a Python function, call it through
 * the gateway, and check from inside the function that it runs in a real sandbox.
 */
@QuarkusTest
@io.quarkus.test.common.QuarkusTestResource(FreshDataDir.class)
@io.quarkus.test.common.QuarkusTestResource(LocalKafkaResource.class)
class WalkingSkeletonTest {
    @Inject
    LocalInvoker invoker;

    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    static final String HELLO = """
            def handle(event, context):
                body = event.body.decode() or "world"
                return "Hello, " + body
            """;

    static JsonPath deploy(String name, byte[] pkg, int status) {
        return given().contentType("application/gzip").body(pkg)
                .when().put("/v1/functions/" + name)
                .then().statusCode(status).extract().jsonPath();
    }

    @Test
    void deployThenCallOverHttp() throws Exception {
        JsonPath d = deploy("hello", Functions.pack("hello", "", HELLO), 201);
        assertEquals(true, d.getBoolean("ready"), d.prettify());
        assertTrue(d.getString("url").endsWith("/fn/hello"), d.getString("url"));

        given().body("world").when().post("/fn/hello").then().statusCode(200)
                .body(equalTo("Hello, world")).header("X-Call-Id", notNullValue());
        // Any method, and the path may continue after the name.
        given().when().get("/fn/hello/any/path?x=1").then().statusCode(200).body(equalTo("Hello, world"));
        given().body("Ana").when().put("/fn/hello").then().statusCode(200).body(equalTo("Hello, Ana"));

        given().when().get("/v1/functions").then().statusCode(200).body("name", org.hamcrest.Matchers.hasItem("hello"));
        given().when().get("/v1/functions/hello").then().statusCode(200)
                .body("name", equalTo("hello")).body("runtime", equalTo("python")).body("version", equalTo(1));
    }

    @Test
    void requestDetailsPassThrough() throws Exception {
        deploy("echo", Functions.pack("echo", "", """
                def handle(event, context):
                    return {"statusCode": 201, "headers": {"X-Echo": "yes"},
                            "body": {"method": event.method, "path": event.path, "query": event.query,
                                     "header": event.headers.get("x-custom"), "body": event.body.decode(),
                                     "call": context.call_id}}
                """), 201);
        var r = given().header("X-Custom", "abc").body("payload")
                .when().patch("/fn/echo/items/7?color=red").then().statusCode(201).header("X-Echo", "yes").extract();
        JsonPath j = r.jsonPath();
        assertEquals("PATCH", j.getString("method"));
        assertEquals("/items/7", j.getString("path"));
        assertEquals("red", j.getString("query.color"));
        assertEquals("abc", j.getString("header"));
        assertEquals("payload", j.getString("body"));
        assertEquals(r.header("X-Call-Id"), j.getString("call"));
    }

    @Test
    void functionRunsInsideARealSandbox() throws Exception {
        deploy("inspect", Functions.pack("inspect", "memory: 64Mi\npids: 32\n", """
                import os, socket, json
                def can_write(path):
                    try:
                        with open(path, "w") as f:
                            f.write("x")
                        return True
                    except OSError:
                        return False
                def handle(event, context):
                    status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
                    ifaces = [l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]]
                    cg = "/sys/fs/cgroup"
                    return {"pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
                            "uid": os.getuid(), "gid": os.getgid(), "hostname": socket.gethostname(),
                            "capEff": status["CapEff"].strip(), "capBnd": status["CapBnd"].strip(),
                            "noNewPrivs": status["NoNewPrivs"].strip(),
                            "ifaces": ifaces, "tmp": can_write("/tmp/probe"), "root": can_write("/probe"),
                            "code": can_write("/code/probe"), "usr": can_write("/usr/probe"),
                            "hostRoot": os.path.exists("/root") or os.path.exists("/work")}
                """), 201);
        JsonPath j = given().when().get("/fn/inspect").then().statusCode(200).extract().jsonPath();
        assertEquals(List.of(1, 2), j.getList("pids"), "only skiff-init and the function are visible");
        assertEquals(65534, j.getInt("uid"));
        assertEquals(65534, j.getInt("gid"));
        assertEquals("inspect", j.getString("hostname"));
        assertEquals("0000000000000000", j.getString("capEff"));
        assertEquals("0000000000000000", j.getString("capBnd"));
        assertEquals("1", j.getString("noNewPrivs"));
        assertEquals(List.of("lo"), j.getList("ifaces"));
        assertTrue(j.getBoolean("tmp"), "/tmp is writable");
        assertFalse(j.getBoolean("root"), "/ is read-only");
        assertFalse(j.getBoolean("code"), "the function's code is read-only");
        assertFalse(j.getBoolean("usr"), "the runtime layer is read-only");
        assertFalse(j.getBoolean("hostRoot"), "host paths are not visible");
    }

    @Test
    void memoryLimitIsEnforcedAndReportedAsOutOfMemory() throws Exception {
        deploy("hog", Functions.pack("hog", "memory: 32Mi\n", """
                def handle(event, context):
                    if event.body == b"hog":
                        block = bytearray(128 << 20)
                        return str(len(block))
                    return "fine"
                """), 201);
        given().body("hog").when().post("/fn/hog").then().statusCode(502)
                .body("error", equalTo("function_out_of_memory")).body("message", containsString("out of memory"));
        given().when().get("/fn/hog").then().statusCode(200).body(equalTo("fine"));
    }

    @Test
    void secondCallReusesTheWarmSandbox() throws Exception {
        deploy("warm", Functions.pack("warm", "", """
                import uuid
                STARTED = uuid.uuid4().hex
                def handle(event, context):
                    return STARTED
                """), 201);
        String first = given().when().get("/fn/warm").then().statusCode(200).extract().asString();
        List<Long> pids = invoker.sandboxPids("warm");
        String second = given().when().get("/fn/warm").then().statusCode(200).extract().asString();
        assertEquals(first, second, "the same process served both calls");
        assertEquals(pids, invoker.sandboxPids("warm"));
        assertEquals(1, pids.size());
    }

    @Test
    void idleSandboxIsStopped() throws Exception {
        deploy("sleepy", Functions.pack("sleepy", "idleTimeout: 1s\n", HELLO), 201);
        given().when().get("/fn/sleepy").then().statusCode(200);
        long pid = invoker.sandboxPids("sleepy").get(0);
        long deadline = System.currentTimeMillis() + 10_000;
        while (!invoker.sandboxPids("sleepy").isEmpty() && System.currentTimeMillis() < deadline) Thread.sleep(100);
        assertEquals(List.of(), invoker.sandboxPids("sleepy"));
        // The idle replica gets SIGTERM and a grace period; the FDK exits at once when idle.
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && System.currentTimeMillis() < deadline) Thread.sleep(50);
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the sandbox process is gone");
        given().when().get("/fn/sleepy").then().statusCode(200).body(equalTo("Hello, world"));
        assertNotEquals(List.of(pid), invoker.sandboxPids("sleepy"));
    }

    @Test
    void functionThatRaisesGets500AndTheNextCallWorks() throws Exception {
        deploy("flaky", Functions.pack("flaky", "", """
                def handle(event, context):
                    if event.body == b"boom":
                        raise ValueError("the answer is not " + event.body.decode())
                    return "ok"
                """), 201);
        given().body("boom").when().post("/fn/flaky").then().statusCode(500)
                .body(containsString("ValueError: the answer is not boom"));
        given().when().get("/fn/flaky").then().statusCode(200).body(equalTo("ok"));
    }

    @Test
    void crashingFunctionGets502AndTheNextCallWorks() throws Exception {
        deploy("crashy", Functions.pack("crashy", "", """
                import os
                def handle(event, context):
                    if event.body == b"die":
                        os._exit(3)
                    return "alive"
                """), 201);
        given().body("die").when().post("/fn/crashy").then().statusCode(502)
                .body("error", equalTo("function_crashed")).body("message", containsString("status 3"));
        given().when().get("/fn/crashy").then().statusCode(200).body(equalTo("alive"));
    }

    @Test
    void brokenFunctionIsReportedAtDeployWithItsOwnError() throws Exception {
        JsonPath d = deploy("broken", Functions.pack("broken", "", "import no_such_module\n"), 201);
        assertFalse(d.getBoolean("ready"));
        assertTrue(d.getString("message").contains("No module named 'no_such_module'"), d.getString("message"));
    }

    @Test
    void unknownFunctionIs404Json() {
        given().when().post("/fn/nope").then().statusCode(404).contentType("application/json")
                .body("error", equalTo("function_not_found")).body("message", containsString("nope"));
    }

    @Test
    void oversizedBodyIs413() throws Exception {
        deploy("small", Functions.pack("small", "", HELLO), 201);
        given().body(new byte[7 << 20]).when().post("/fn/small").then().statusCode(413).body("error", equalTo("body_too_large"));
    }

    @Test
    void badPackagesAreRefusedAndNothingIsStored() throws Exception {
        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("no func.yaml", Functions.rawTar(Map.of("handler.py", HELLO)));
        bad.put("func.yaml", Functions.rawTar(Map.of("func.yaml", "name: badpkg\nruntime: python\nflavour: x\n", "handler.py", HELLO)));
        bad.put("..", Functions.rawTar(Map.of("func.yaml", "name: badpkg\nruntime: python\n", "../escape.py", "x")));
        bad.put("absolute", Functions.rawTar(Map.of("func.yaml", "name: badpkg\nruntime: python\n", "/etc/evil", "x")));
        bad.put("symlink", Functions.rawTar(Map.of("func.yaml", "name: badpkg\nruntime: python\n", "handler.py", "symlink:/etc/shadow")));
        bad.put("symlink", Functions.rawTar(Map.of("func.yaml", "name: badpkg\nruntime: python\n", "handler.py", "symlink:../../../etc/shadow")));
        bad.put("hardlink", Functions.rawTar(Map.of("func.yaml", "name: badpkg\nruntime: python\n", "handler.py", "hardlink:/etc/shadow")));
        bad.put("gzip", "not a tarball".getBytes());
        for (Map.Entry<String, byte[]> e : bad.entrySet()) {
            var resp = given().contentType("application/gzip").body(e.getValue()).when().put("/v1/functions/badpkg")
                    .then().extract();
            assertEquals(400, resp.statusCode(), e.getKey() + ": " + resp.asString());
            assertFalse(resp.jsonPath().getString("message").isEmpty());
            given().when().get("/v1/functions/badpkg").then().statusCode(404);
        }
        // The message names the problem.
        assertTrue(deploy("badpkg", bad.get("no func.yaml"), 400).getString("message").contains("no func.yaml"));
        assertTrue(deploy("badpkg", bad.get("func.yaml"), 400).getString("message").contains("'flavour'"));
        assertTrue(deploy("badpkg", bad.get("symlink"), 400).getString("message").contains("outside"));
    }

    @Test
    void badNamesAreRefused() throws Exception {
        given().contentType("application/gzip").body(Functions.pack("hello", "", HELLO))
                .when().put("/v1/functions/Hello_World").then().statusCode(400)
                .body("error", equalTo("invalid_name")).body("message", containsString("DNS label"));
        given().contentType("application/gzip").body(Functions.pack("other", "", HELLO))
                .when().put("/v1/functions/mismatch").then().statusCode(400).body("error", equalTo("name_mismatch"));
        given().contentType("text/plain").body("x").when().put("/v1/functions/plain").then().statusCode(415)
                .body("message", containsString("application/gzip"));
    }

    @Test
    void redeployServesTheNewVersion() throws Exception {
        deploy("versioned", Functions.pack("versioned", "", "def handle(e, c):\n    return 'v1'\n"), 201);
        given().when().get("/fn/versioned").then().body(equalTo("v1"));
        JsonPath d = deploy("versioned", Functions.pack("versioned", "", "def handle(e, c):\n    return 'v2'\n"), 200);
        assertEquals(2, d.getInt("version"));
        given().when().get("/fn/versioned").then().body(equalTo("v2"));
        assertEquals(1, invoker.sandboxPids("versioned").size(), "the old version's replica was stopped");
    }

    @Test
    void deleteRemovesTheFunction() throws Exception {
        deploy("doomed", Functions.pack("doomed", "", HELLO), 201);
        given().when().delete("/v1/functions/doomed").then().statusCode(204);
        given().when().get("/fn/doomed").then().statusCode(404);
        given().when().delete("/v1/functions/doomed").then().statusCode(404).body("error", equalTo("function_not_found"));
        assertEquals(List.of(), invoker.sandboxPids("doomed"));
    }

    static String baseUrl() {
        return RestAssured.baseURI + ":" + RestAssured.port;
    }

    @Test
    void managementErrorsAreJson() {
        given().when().get("/v1/functions/missing").then().statusCode(404)
                .contentType(startsWith("application/json")).body("error", equalTo("function_not_found"));
    }
}
