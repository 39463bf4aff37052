package dev.skiff.server;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** What a function prints reaches Skiff's log, tagged with the function's name. */
@QuarkusTest
@QuarkusTestResource(FreshDataDir.class)
@QuarkusTestResource(LocalKafkaResource.class)
class FunctionLogsTest {
    @BeforeAll
    static void root() {
        RequiresRoot.check();
    }

    @Test
    void stdoutAndStderrAreLoggedWithTheFunctionName() throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                Object[] p = r.getParameters();
                String msg = r.getMessage();
                if (p != null) msg = String.format(msg.replace("{0}", "%s"), p);
                lines.add(msg + " " + (p == null ? "" : List.of(p)));
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger logger = Logger.getLogger("skiff.function");
        logger.addHandler(capture);
        try {
            byte[] pkg = Functions.pack("chatty", "", """
                    import sys
                    def handle(event, context):
                        print("out-marker-42")
                        print("err-marker-43", file=sys.stderr)
                        return "said it"
                    """);
            given().contentType("application/gzip").body(pkg).when().put("/v1/functions/chatty").then().statusCode(201);
            given().when().get("/fn/chatty").then().statusCode(200);
            long deadline = System.currentTimeMillis() + 5000;
            while (System.currentTimeMillis() < deadline
                    && !(has(lines, "out-marker-42") && has(lines, "err-marker-43"))) {
                Thread.sleep(50);
            }
            assertTrue(has(lines, "out-marker-42"), "stdout line logged: " + lines);
            assertTrue(has(lines, "err-marker-43"), "stderr line logged: " + lines);
        } finally {
            logger.removeHandler(capture);
        }
    }

    private static boolean has(List<String> lines, String marker) {
        return lines.stream().anyMatch(l -> l.contains(marker) && l.contains("chatty"));
    }

    @Test
    void logsApiShowsLinesWithReplicaStreamAndCallId() throws Exception {
        byte[] pkg = Functions.pack("logger", "", """
                import sys
                def handle(event, context):
                    print("line for " + event.body.decode())
                    print("warning!", file=sys.stderr)
                    return "ok"
                """);
        given().contentType("application/gzip").body(pkg).when().put("/v1/functions/logger").then().statusCode(201);
        String callId = given().body("alpha").when().post("/fn/logger").then().statusCode(200).extract().header("X-Call-Id");
        String logs = "";
        long deadline = System.currentTimeMillis() + 5000;
        while (System.currentTimeMillis() < deadline && !logs.contains("warning!")) {
            logs = given().when().get("/v1/functions/logger/logs?tail=10").then().statusCode(200).extract().asString();
            Thread.sleep(50);
        }
        assertTrue(logs.matches("(?s).*\\d{4}-\\d\\d-\\d\\dT\\S+ logger-[0-9a-f]{8} stdout (\\[" + callId + "\\] )?line for alpha\n.*"), logs);
        assertTrue(logs.contains(" stderr "), logs);
        given().when().get("/v1/functions/nobody/logs").then().statusCode(404);
        given().when().get("/v1/functions/logger/logs?tail=x").then().statusCode(400);
    }

    @Test
    void followStreamsNewLines() throws Exception {
        byte[] pkg = Functions.pack("follower", "", """
                def handle(event, context):
                    print("follow " + event.body.decode())
                    return "ok"
                """);
        given().contentType("application/gzip").body(pkg).when().put("/v1/functions/follower").then().statusCode(201);
        var client = java.net.http.HttpClient.newHttpClient();
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                io.restassured.RestAssured.baseURI + ":" + io.restassured.RestAssured.port + "/v1/functions/follower/logs?tail=0&follow=true")).header("Authorization", "Bearer " + FreshDataDir.adminToken()).build();
        var resp = client.send(req, java.net.http.HttpResponse.BodyHandlers.ofLines());
        assertTrue(resp.statusCode() == 200);
        var lines = resp.body().iterator();
        given().body("one").when().post("/fn/follower").then().statusCode(200);
        given().body("two").when().post("/fn/follower").then().statusCode(200);
        java.util.concurrent.CompletableFuture<String> got = java.util.concurrent.CompletableFuture.supplyAsync(() -> lines.next() + "|" + lines.next());
        String both = got.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertTrue(both.contains("follow one") && both.contains("follow two"), both);
    }
}
