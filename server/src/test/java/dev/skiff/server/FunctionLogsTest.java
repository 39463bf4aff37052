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
}
